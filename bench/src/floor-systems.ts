/**
 * The floors of figure 1: bare file operations through ticketq's Fs layer (the same calls
 * ticketq makes), no queue logic, no parsing, no validation. Each tells what a ticket's file
 * operations cost on this filesystem, without any code around them.
 *   renames: 1 creation (birth in pending/), 2 renames (claim, complete); writes no output.
 *   honest:  the creations a ticket must make: the birth file in pending/; claim = rename into
 *            claimed/<w>/ + read it; submit = the output written as a new file in moving/,
 *            renamed into completed/, and the claimed file unlinked (2 creations, 2 renames,
 *            1 read, 1 inode freed per ticket). With fsync: every new file is fsynced and every
 *            directory a rename changes, like ticketq's durability 'full'.
 *   protocol: exactly the file operations of ticketq's protocol today (5 creations, 5 renames,
 *            2 links, 4 unlinks, 2 reads, 4 lstats per ticket), to split ticketq's cost into
 *            its file operations and its code.
 *   lease:   the design issue 16 proposed (claim without a rewrite, lease files per 16 claims,
 *            births in a batched manifest, submit rewriting the fenced file in place): what
 *            the best design measured here reaches.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { nodeFs } from '../../dist/index.js';
import { runLimited } from './run-limited.js';

export type FloorKind = 'raw' | 'honest' | 'honest-fsync' | 'protocol' | 'lease';

/** Creation concurrency: ticketq's addTickets runs 16 births at once; the floors do the same. */
const CREATE_CONCURRENCY = 16;

export interface FloorState {
  kind: FloorKind;
  /** The run directory (<root>/<runId>). */
  run: string;
  worker: string;
  concurrency: number;
  /** The names this process wrote (no discovery: a floor has no queue logic). */
  names: string[];
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Births: `text` is the bytes of a ticketq pending ticket. */
export async function createFloor(s: FloorState, count: number, text: string): Promise<void> {
  if (s.kind === 'protocol') return createLikeProtocol(s, count, text);
  if (s.kind === 'lease') return createLeaseDesign(s, count, text);
  const pending = join(s.run, 'pending', 'work');
  await mkdir(pending, { recursive: true });
  const sync = s.kind === 'honest-fsync';
  await runLimited(count, CREATE_CONCURRENCY, async (i) => {
    const name = `work-${s.worker}-${i}.json`;
    s.names.push(name);
    await nodeFs.writeFileExclusive(join(pending, name), text, sync);
    if (sync) await syncDir(pending);
  });
}

/**
 * The directories a claim + submit round uses, made: completed/work/, moving/ and one
 * claimed/<worker>-<lane>/ per loop; `laneDir(i)` is the one ticket `i` is claimed into.
 */
async function processDirs(s: FloorState): Promise<{ completed: string; moving: string; laneDir: (i: number) => string }> {
  const completed = join(s.run, 'completed', 'work');
  const moving = join(s.run, 'moving');
  await mkdir(completed, { recursive: true });
  await mkdir(moving, { recursive: true });
  const laneDir = (i: number): string => join(s.run, 'claimed', `${s.worker}-${i % s.concurrency}`);
  for (let lane = 0; lane < s.concurrency; lane += 1) await mkdir(laneDir(lane), { recursive: true });
  return { completed, moving, laneDir };
}

/** Claim + submit every ticket this process created; `outText` is a completed ticket's bytes. */
export async function processFloor(s: FloorState, outText: string): Promise<number> {
  if (s.kind === 'protocol') return processLikeProtocol(s, outText);
  if (s.kind === 'lease') return processLeaseDesign(s, outText);
  const { completed, moving, laneDir } = await processDirs(s);
  const sync = s.kind === 'honest-fsync';
  let processed = 0;
  await runLimited(s.names.length, s.concurrency, async (i) => {
    const claimedDir = laneDir(i);
    const name = s.names[i] as string;
    await nodeFs.rename(join(s.run, 'pending', 'work', name), join(claimedDir, name));
    if (sync) await syncDir(claimedDir);
    if (s.kind === 'raw') {
      await nodeFs.rename(join(claimedDir, name), join(completed, name));
    } else {
      await nodeFs.readFile(join(claimedDir, name));
      await nodeFs.writeFileExclusive(join(moving, name), outText, sync);
      await nodeFs.rename(join(moving, name), join(completed, name));
      if (sync) await syncDir(completed);
      await nodeFs.unlink(join(claimedDir, name));
    }
    processed += 1;
  });
  return processed;
}

/**
 * Today's protocol: the file operations ticketq's code makes per ticket (counted with strace on
 * a 'none' run: births 3 creations, 1 link, 1 unlink, 1 rename; claim + submit 2 creations,
 * 4 renames, 1 link, 3 unlinks, 2 reads, 4 lstats), with none of its code:
 *   birth:  item index entry (create .tmp/<key>.tmp, link it into items/, unlink the temp),
 *           create moving/<id>~n.new.json, create the record in registry/ (O_EXCL), rename the
 *           staged file into pending/
 *   claim:  rename pending/ -> claimed/<w>/, then the stamp as a fenced move: rename to .prev,
 *           read it, create .next, lstat .prev, rename .next into claimed/<w>/, unlink .prev
 *   submit: rename to .prev, read it, lstat failed/ and needs_review/ (no finished copy), create
 *           .next, lstat .prev, link .next into completed/, unlink .next, unlink .prev
 */
async function createLikeProtocol(s: FloorState, count: number, text: string): Promise<void> {
  const dirs = { moving: join(s.run, 'moving'), tmp: join(s.run, '.tmp'), items: join(s.run, 'items', 'work'), registry: join(s.run, 'registry', 'work'), pending: join(s.run, 'pending', 'work') };
  for (const d of Object.values(dirs)) await mkdir(d, { recursive: true });
  const entry = `${JSON.stringify({ item_key: 'id:item', ticket_id: 'work-x' }, null, 2)}\n`;
  await runLimited(count, CREATE_CONCURRENCY, async (i) => {
    const name = `work-${s.worker}-${i}.json`;
    s.names.push(name);
    const tmp = join(dirs.tmp, `${name}.${s.worker}${i}.tmp`);
    await nodeFs.writeFileExclusive(tmp, entry, false);
    await nodeFs.link(tmp, join(dirs.items, name));
    await nodeFs.unlink(tmp);
    const staged = join(dirs.moving, `${name}~${s.worker}${i}.new.json`);
    await nodeFs.writeFileExclusive(staged, text, false);
    await nodeFs.writeFileExclusive(join(dirs.registry, name), text, false);
    await nodeFs.rename(staged, join(dirs.pending, name));
  });
}

async function processLikeProtocol(s: FloorState, outText: string): Promise<number> {
  const { completed, moving, laneDir } = await processDirs(s);
  const lstatIfExists = nodeFs.lstatIfExists ?? nodeFs.lstat;
  let processed = 0;
  await runLimited(s.names.length, s.concurrency, async (i) => {
    const name = s.names[i] as string;
    const claimed = join(laneDir(i), name);
    await nodeFs.rename(join(s.run, 'pending', 'work', name), claimed);
    // The claim's stamp.
    const c = { prev: join(moving, `${name}~c.prev.json`), next: join(moving, `${name}~c.next.json`) };
    await nodeFs.rename(claimed, c.prev);
    const text = await nodeFs.readFile(c.prev);
    await nodeFs.writeFileExclusive(c.next, text, false);
    await nodeFs.lstat(c.prev);
    await nodeFs.rename(c.next, claimed);
    await nodeFs.unlink(c.prev);
    // The submit.
    const m = { prev: join(moving, `${name}~s.prev.json`), next: join(moving, `${name}~s.next.json`) };
    await nodeFs.rename(claimed, m.prev);
    await nodeFs.readFile(m.prev);
    await lstatIfExists(join(s.run, 'failed', 'work', name));
    await lstatIfExists(join(s.run, 'needs_review', 'work', name));
    await nodeFs.writeFileExclusive(m.next, outText, false);
    await nodeFs.lstat(m.prev);
    await nodeFs.link(m.next, join(completed, name));
    await nodeFs.unlink(m.next);
    await nodeFs.unlink(m.prev);
    processed += 1;
  });
  return processed;
}

/** Births between two appends to the lease design's registry manifest (one line per birth). */
const MANIFEST_BATCH = 256;
/** Claims of a lane between two lease files in the lease design. */
const LEASE_BATCH = 16;

/**
 * The design issue 16 proposed, as bare file operations (no code): what it would reach.
 *   birth:  create moving/<id>.new, rename it into pending/; one append of 256 lines to a
 *           registry manifest per 256 births
 *   claim:  rename pending/ -> claimed/<w>/, read it; one lease file created per 16 claims
 *   submit: rename claimed/<w>/ -> moving/ (the fence), rewrite that file in place (open with
 *           O_TRUNC, write, close), rename it into completed/
 */
async function createLeaseDesign(s: FloorState, count: number, text: string): Promise<void> {
  const dirs = { moving: join(s.run, 'moving'), registry: join(s.run, 'registry'), pending: join(s.run, 'pending', 'work') };
  for (const d of Object.values(dirs)) await mkdir(d, { recursive: true });
  const manifest = join(dirs.registry, `work-${s.worker}.manifest`);
  let lines: string[] = [];
  await runLimited(count, CREATE_CONCURRENCY, async (i) => {
    const name = `work-${s.worker}-${i}.json`;
    s.names.push(name);
    const staged = join(dirs.moving, `${name}.new`);
    await nodeFs.writeFileExclusive(staged, text, false);
    await nodeFs.rename(staged, join(dirs.pending, name));
    lines.push(`${name} ${i}\n`);
    if (lines.length >= MANIFEST_BATCH) {
      appendFileSync(manifest, lines.join(''));
      lines = [];
    }
  });
  if (lines.length > 0) appendFileSync(manifest, lines.join(''));
}

async function processLeaseDesign(s: FloorState, outText: string): Promise<number> {
  const { completed, moving, laneDir } = await processDirs(s);
  const claims = new Array<number>(s.concurrency).fill(0);
  let processed = 0;
  await runLimited(s.names.length, s.concurrency, async (i) => {
    const name = s.names[i] as string;
    const lane = i % s.concurrency;
    const dir = laneDir(i);
    await nodeFs.rename(join(s.run, 'pending', 'work', name), join(dir, name));
    await nodeFs.readFile(join(dir, name));
    if ((claims[lane] as number) % LEASE_BATCH === 0) await nodeFs.writeFileExclusive(join(dir, `lease-${claims[lane]}.json`), '{"lease_expires_at":"2030-01-01T00:00:00.000Z"}\n', false);
    claims[lane] = (claims[lane] as number) + 1;
    const fenced = join(moving, `${name}.s`);
    await nodeFs.rename(join(dir, name), fenced);
    writeFileSync(fenced, outText);
    await nodeFs.rename(fenced, join(completed, name));
    processed += 1;
  });
  return processed;
}
