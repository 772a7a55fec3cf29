/**
 * `tq fsck` and `tq fsck --repair` as real processes against what an untrusted agent can leave in
 * a run (issue 12): FIFOs named like tickets (a plain open blocks forever), skeleton directories
 * replaced by symlinks out of the run, tickets moved by hand, content that disagrees with its
 * location. Each: fsck finishes within a bound, reports the problem naming the file, changes
 * nothing outside the run, and leaves every ticket in exactly one state directory.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, lstat, mkdir, readFile, readdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRun } from '../../../src/core/ops/create-run.js';
import { claimTicket } from '../../../src/core/ops/claim-ticket.js';
import { submitTicket } from '../../../src/core/ops/submit-ticket.js';
import { cascadeMarkerPath } from '../../../src/core/ops/cascade-ticket.js';
import type { RunCtx } from '../../../src/core/store/run-context.js';
import { ensureDistBuilt } from '../../helpers/build-dist.js';
import { runBin, type BinResult } from '../../helpers/run-bin.js';
import { addItems, examplePipeline, parseItems } from '../../helpers/make-run.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';
import { stateFile } from '../../helpers/ticket-files.js';

/** Far above what fsck takes on these small runs (well under a second), far below a test timeout. */
const BOUND_MS = 30_000;

type Finished = BinResult;

/** `tq --root ROOT ...args`, killed after BOUND_MS (a hang is a failure, never a stuck test). */
function tq(root: string, args: string[]): Promise<Finished> {
  return runBin(root, args, { killAfterMs: BOUND_MS });
}

/** fsck (with or without --repair) as a process: it must finish within the bound. */
async function fsck(repair: boolean): Promise<Finished> {
  const r = await tq(root, ['fsck', RUN, '--settle', '50ms', ...(repair ? ['--repair'] : [])]);
  expect(r.timedOut, `tq fsck${repair ? ' --repair' : ''} hung (killed after ${BOUND_MS} ms)`).toBe(false);
  expect(r.stderr).not.toMatch(/unexpected error/);
  return r;
}

/** A hash of everything under `dir` (names, kinds, bytes, link targets), never opening a special file. */
async function treeHash(dir: string): Promise<string> {
  const h = createHash('sha256');
  const walk = async (p: string): Promise<void> => {
    const st = await lstat(p);
    const rel = relative(dir, p);
    if (st.isSymbolicLink()) h.update(`L ${rel} ${await readlink(p)}\n`);
    else if (st.isDirectory()) {
      h.update(`D ${rel}\n`);
      for (const name of (await readdir(p)).sort()) await walk(join(p, name));
    } else if (st.isFile()) h.update(`F ${rel} ${createHash('sha256').update(await readFile(p)).digest('hex')}\n`);
    else h.update(`S ${rel} ${st.mode}\n`);
  };
  await walk(dir);
  return h.digest('hex');
}

/** Names in a real directory; [] when it is absent or not a real directory (never followed). */
async function realEntries(dir: string): Promise<string[]> {
  const st = await lstat(dir).catch(() => undefined);
  return st?.isDirectory() ? (await readdir(dir)).sort() : [];
}

/** Every registered id is in exactly one state directory of the run (links not followed), and no other ticket is. */
async function expectEachTicketOnce(): Promise<void> {
  const registered: string[] = [];
  for (const stage of await realEntries(ctx.paths.registry)) registered.push(...(await realEntries(join(ctx.paths.registry, stage))).map((n) => n.replace(/\.json$/, '')));
  const seen = new Map<string, number>();
  for (const state of ['pending', 'claimed', 'completed', 'failed', 'needs_review']) {
    for (const sub of await realEntries(join(ctx.paths.dir, state))) {
      for (const name of await realEntries(join(ctx.paths.dir, state, sub))) {
        if (!name.endsWith('.json') || name.startsWith('.') || /\.(result|error|heartbeat|release)\.json$/.test(name)) continue;
        if (!(await lstat(join(ctx.paths.dir, state, sub, name))).isFile()) continue;
        const id = name.slice(0, -'.json'.length);
        seen.set(id, (seen.get(id) ?? 0) + 1);
      }
    }
  }
  for (const id of registered) expect(seen.get(id), `${id} should be in exactly one state directory`).toBe(1);
  expect([...seen.keys()].sort()).toEqual([...registered].sort());
}

const RUN = 'hostile';
let dir: string;
let root: string;
let ctx: RunCtx;
let pendingIds: string[];

beforeAll(async () => {
  await ensureDistBuilt();
});
beforeEach(async () => {
  dir = await makeTempDir('tq-fsck-hostile-');
  root = join(dir, 'runs');
  // The system clock: the fsck processes judge leases against real time.
  ctx = await createRun(root, RUN, { pipeline: examplePipeline(), durability: 'none' });
  pendingIds = await addItems(ctx, 'parse', parseItems(4));
});
afterEach(async () => {
  await removeDir(dir);
});

async function claim(worker: string): Promise<string> {
  const r = await claimTicket(ctx, { stage: 'parse', workerId: worker });
  if (!r) throw new Error('nothing claimed');
  return r.ticket.ticket_id;
}

describe('a FIFO named like a ticket: fsck and fsck --repair finish and report it', () => {
  const places: [string, () => Promise<string>][] = [
    ['pending/<stage>/', async () => join(ctx.paths.dir, 'pending', 'parse', 'parse-fifo-1.json')],
    ['claimed/<worker>/', async () => {
      await claim('w1');
      return join(ctx.paths.dir, 'claimed', 'w1', 'parse-fifo-1.json');
    }],
    ['cascade/done/ (a completed parent\'s marker)', async () => {
      const id = await claim('w1');
      await submitTicket(ctx, { ticketId: id, workerId: 'w1', output: { text: 'x' } });
      await rm(cascadeMarkerPath(ctx, id));
      return cascadeMarkerPath(ctx, id);
    }],
    ['moving/ (a draft of a held ticket)', async () => {
      const id = await claim('w1');
      await mkdir(ctx.paths.moving, { recursive: true });
      return join(ctx.paths.moving, `${id}~aaaaaaaaaaaa.next.json`);
    }],
    ['registry/<stage>/ (the birth record of a lost ticket)', async () => join(ctx.paths.registry, 'parse', 'parse-fifo-1.json')],
    ['requests/ (a claim request)', async () => {
      await mkdir(ctx.paths.requests, { recursive: true });
      return join(ctx.paths.requests, 'w1.json');
    }],
    ['inputs/ (a batch record)', async () => {
      await mkdir(ctx.paths.inputs, { recursive: true });
      return join(ctx.paths.inputs, 'batch-fifo.json');
    }],
  ];
  for (const [where, place] of places) {
    it(`in ${where}`, async () => {
      const fifo = await place();
      execFileSync('mkfifo', [fifo]);

      const check = await fsck(false);
      expect(check.code, check.stdout + check.stderr).toBe(9);
      expect(check.stdout).toContain(`PROBLEM [special_file] ${fifo} is a FIFO`);

      const repair = await fsck(true);
      expect(repair.code, repair.stdout + repair.stderr).toBe(0);
      expect(repair.stdout).toContain(`repaired [special_file] ${fifo} is a FIFO`);
      // Gone, or (a cascade marker) written again by the repair as a regular file.
      const now = await lstat(fifo).catch(() => undefined);
      expect(now === undefined || now.isFile()).toBe(true);
      const kept = (await readdir(ctx.paths.quarantine)).filter((n) => !n.endsWith('.why.json'));
      expect(kept).toHaveLength(1);
      expect((await lstat(join(ctx.paths.quarantine, kept[0] as string))).isFIFO()).toBe(true);

      const after = await fsck(false);
      expect(after.code, after.stdout).toBe(0);
      await expectEachTicketOnce();
    });
  }
});

describe('a skeleton directory replaced by a symlink out of the run: reported, nothing outside changes', () => {
  /** A directory beside the run with things fsck would list, move, delete or count if it followed the link. */
  async function makeSentinel(): Promise<string> {
    const sentinel = join(dir, 'sentinel');
    await mkdir(join(sentinel, 'w9'), { recursive: true });
    const text = await readFile(join(ctx.paths.registry, 'parse', `${pendingIds[0]}.json`), 'utf8');
    await writeFile(join(sentinel, `${pendingIds[0]}.json`), text);
    await writeFile(join(sentinel, 'w9', `${pendingIds[0]}.json`), text);
    await writeFile(join(sentinel, 'parse-decoy-1.json'), text);
    await writeFile(join(sentinel, 'x.json.123.abcabcabcabc.tmp'), '{"half');
    await writeFile(join(sentinel, `${pendingIds[0]}~aaaaaaaaaaaa.prev.json`), text);
    await writeFile(join(sentinel, 'notes.txt'), 'not a ticket');
    return sentinel;
  }

  const cases: { link: string; top: boolean; claims: boolean }[] = [
    { link: '.tmp', top: true, claims: true },
    { link: 'moving', top: true, claims: true },
    { link: 'claimed', top: true, claims: false },
    { link: 'quarantine', top: true, claims: true },
    { link: 'claimed/evil', top: false, claims: true },
    { link: 'pending/translate', top: false, claims: true },
  ];
  for (const { link, top, claims } of cases) {
    it(`${link}`, async () => {
      if (claims) await claim('w1');
      // Something --repair would quarantine (through quarantine/ and .tmp/).
      await writeFile(join(ctx.paths.dir, 'pending', 'parse', 'notes.txt'), 'stray');
      const sentinel = await makeSentinel();
      const path = join(ctx.paths.dir, link);
      await rm(path, { recursive: true, force: true });
      await mkdir(join(path, '..'), { recursive: true });
      await symlink(sentinel, path);
      const before = await treeHash(sentinel);

      const check = await fsck(false);
      expect(check.code, check.stdout + check.stderr).toBe(9);
      expect(check.stdout).toContain(`PROBLEM [symlink] ${path} is a symlink`);
      expect(await treeHash(sentinel)).toBe(before);

      const repair = await fsck(true);
      expect(await treeHash(sentinel)).toBe(before);
      expect(repair.stdout).toContain(`${path} is a symlink`);
      if (top) {
        // Left alone, and nothing else is changed while it is there.
        expect(repair.code, repair.stdout).toBe(9);
        expect(repair.stdout).toContain('--repair stopped');
        expect((await lstat(path)).isSymbolicLink()).toBe(true);
        expect(await readFile(join(ctx.paths.dir, 'pending', 'parse', 'notes.txt'), 'utf8')).toBe('stray');
      } else {
        // The link itself is quarantined (renamed inside the run), never what it points to.
        expect(repair.code, repair.stdout).toBe(0);
        expect(await lstat(path).catch(() => undefined)).toBeUndefined();
        expect((await fsck(false)).code).toBe(0);
      }
      expect(await treeHash(sentinel)).toBe(before);
      await expectEachTicketOnce();
    });
  }
});

describe('tickets whose location and content disagree', () => {
  it('moved by hand from pending/ to completed/: reported, requeued by --repair (never cascaded), clean after', async () => {
    const id = pendingIds[0] as string;
    const moved = stateFile(ctx, 'completed', 'parse', id);
    await mkdir(join(ctx.paths.dir, 'completed', 'parse'), { recursive: true });
    await rename(stateFile(ctx, 'pending', 'parse', id), moved);

    const check = await fsck(false);
    expect(check.code).toBe(9);
    expect(check.stdout).toContain(`PROBLEM [hand_moved] ${moved}: ticket ${id} is in completed/`);

    const repair = await fsck(true);
    expect(repair.code, repair.stdout).toBe(0);
    expect(repair.stdout).toContain(`repaired [hand_moved] ${moved}`);
    expect(repair.stdout).toContain(`requeued to ${stateFile(ctx, 'pending', 'parse', id)}`);
    expect(await realEntries(join(ctx.paths.dir, 'pending', 'translate'))).toEqual([]);
    expect(await realEntries(join(ctx.paths.registry, 'translate'))).toEqual([]);

    expect((await fsck(false)).code).toBe(0);
    await expectEachTicketOnce();
  });

  it('a claim copied into another worker\'s directory: status_mismatch reported, quarantined by --repair, clean after', async () => {
    const id = await claim('w1');
    const copy = stateFile(ctx, 'claimed', 'w2', id);
    await mkdir(join(ctx.paths.dir, 'claimed', 'w2'), { recursive: true });
    await copyFile(stateFile(ctx, 'claimed', 'w1', id), copy);

    const check = await fsck(false);
    expect(check.code).toBe(9);
    expect(check.stdout).toContain(`PROBLEM [status_mismatch] ${copy}: field claim.worker_id is "w1" but the file is in claimed/w2/`);

    const repair = await fsck(true);
    expect(repair.code, repair.stdout).toBe(0);
    expect(repair.stdout).toContain(`repaired [status_mismatch] ${copy}`);
    expect(await realEntries(join(ctx.paths.dir, 'claimed', 'w2'))).toEqual([]);

    expect((await fsck(false)).code).toBe(0);
    await expectEachTicketOnce();
  });
});
