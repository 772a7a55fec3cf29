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
 *   protocol: exactly the file operations of ticketq's protocol before issue 16 (4 creations,
 *            6 renames, 1 link, 3 unlinks, 2 reads, 2 lstats), kept to show what that layout costs.
 */
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { nodeFs } from '../../dist/index.js';
import { runLimited } from './run-limited.js';

export type FloorKind = 'raw' | 'honest' | 'honest-fsync' | 'protocol';

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

/** Claim + submit every ticket this process created; `outText` is a completed ticket's bytes. */
export async function processFloor(s: FloorState, outText: string): Promise<number> {
  if (s.kind === 'protocol') return processLikeProtocol(s);
  const completed = join(s.run, 'completed', 'work');
  const moving = join(s.run, 'moving');
  await mkdir(completed, { recursive: true });
  await mkdir(moving, { recursive: true });
  for (let lane = 0; lane < s.concurrency; lane += 1) await mkdir(join(s.run, 'claimed', `${s.worker}-${lane}`), { recursive: true });
  const sync = s.kind === 'honest-fsync';
  let processed = 0;
  await runLimited(s.names.length, s.concurrency, async (i) => {
    const claimedDir = join(s.run, 'claimed', `${s.worker}-${i % s.concurrency}`);
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
 * The pre-issue-16 protocol's operations per ticket:
 *   birth:  create moving/<id>~n.new.json, create .tmp/<id>.tmp, link it to registry/, unlink
 *           the temp, rename the staged file into pending/
 *   claim:  rename pending/ -> claimed/<w>/, read it, create moving/<id>~n.next.json, rename
 *           the claimed file to .prev, lstat it, rename .next into claimed/<w>/, unlink .prev
 *   submit: read, create .next, rename to .prev, lstat, rename .next into completed/, unlink .prev
 */
async function createLikeProtocol(s: FloorState, count: number, text: string): Promise<void> {
  const dirs = { moving: join(s.run, 'moving'), tmp: join(s.run, '.tmp'), registry: join(s.run, 'registry', 'work'), pending: join(s.run, 'pending', 'work') };
  for (const d of Object.values(dirs)) await mkdir(d, { recursive: true });
  await runLimited(count, CREATE_CONCURRENCY, async (i) => {
    const name = `work-${s.worker}-${i}.json`;
    s.names.push(name);
    const staged = join(dirs.moving, `${name}~${s.worker}${i}.new.json`);
    const tmp = join(dirs.tmp, `${name}.${s.worker}${i}.tmp`);
    await nodeFs.writeFileExclusive(staged, text, false);
    await nodeFs.writeFileExclusive(tmp, text, false);
    await nodeFs.link(tmp, join(dirs.registry, name));
    await nodeFs.unlink(tmp);
    await nodeFs.rename(staged, join(dirs.pending, name));
  });
}

async function processLikeProtocol(s: FloorState): Promise<number> {
  const moving = join(s.run, 'moving');
  const completed = join(s.run, 'completed', 'work');
  await mkdir(completed, { recursive: true });
  for (let lane = 0; lane < s.concurrency; lane += 1) await mkdir(join(s.run, 'claimed', `${s.worker}-${lane}`), { recursive: true });
  let processed = 0;
  const move = async (from: string, to: string, tag: string): Promise<void> => {
    const text = await nodeFs.readFile(from);
    const next = join(moving, `${tag}.next.json`);
    const prev = join(moving, `${tag}.prev.json`);
    await nodeFs.writeFileExclusive(next, text, false);
    await nodeFs.rename(from, prev);
    await nodeFs.lstat(prev);
    await nodeFs.rename(next, to);
    await nodeFs.unlink(prev);
  };
  await runLimited(s.names.length, s.concurrency, async (i) => {
    const name = s.names[i] as string;
    const claimed = join(s.run, 'claimed', `${s.worker}-${i % s.concurrency}`, name);
    await nodeFs.rename(join(s.run, 'pending', 'work', name), claimed);
    await move(claimed, claimed, `${name}~c`);
    await move(claimed, join(completed, name), `${name}~s`);
    processed += 1;
  });
  return processed;
}
