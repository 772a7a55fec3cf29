/**
 * Agents can write any file in a run (issue 12, "agents are untrusted writers"). In real
 * processes, with real FIFOs and symlinks:
 *  - a FIFO named like a ticket in pending/<stage>/ or claimed/<worker>/ never hangs `tq claim`
 *    (it hung 1 time in N: the scan offered it, the claim took it, the open blocked) nor any
 *    listing command;
 *  - one odd entry in claimed/ (a symlink, a directory named x.json, `worker_type: "Parse"`)
 *    never stops a reap pass: every other expired claim is reaped;
 *  - pending/<stage>, claimed/<worker>, .tmp or moving as a symlink to a directory outside the
 *    run: claim, submit and reap refuse clearly (UNSAFE_PATH) or leave it alone, and the
 *    directory outside is unchanged, byte for byte.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdir, readFile, readdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ensureDistBuilt } from '../helpers/build-dist.js';
import { runBin, type BinResult } from '../helpers/run-bin.js';
import { addItems, makeRun, parseItems } from '../helpers/make-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';
import { readTicketFile, writeTicketFile } from '../helpers/ticket-files.js';
import { claimTicket } from '../../src/core/ops/claim-ticket.js';
import { reapExpired } from '../../src/core/ops/reap-claims.js';
import { nodeFs, type Fs } from '../../src/core/store/fs-layer.js';
import { claimedDir, openRun, stateDir, type RunCtx } from '../../src/core/store/run-context.js';
import { MovingKind, movingFileName, tempFileName, ticketFileName } from '../../src/core/store/run-names.js';
import { fixedClock } from '../../src/core/model/clock.js';

/** Far above what any of these commands takes; a hang is killed here and fails the test. */
const BOUND_MS = 30_000;
const PAST = '2000-01-01T00:00:00.000Z';

type Finished = BinResult;

/** `node bin/tq.js --root ROOT ...args` as a real process, SIGKILLed after BOUND_MS (a hang fails the test). */
function tq(root: string, args: string[], stdin = ''): Promise<Finished> {
  return runBin(root, args, { stdin, killAfterMs: BOUND_MS });
}

/** The command finished by itself within BOUND_MS (no hang) with one of `codes`. */
function expectFinished(r: Finished, codes: number[], what: string): void {
  expect(r.timedOut, `${what} hung (killed after ${BOUND_MS} ms)`).toBe(false);
  expect(codes, `${what}: exit ${r.code}\n${r.stderr}`).toContain(r.code);
  expect(r.stderr, what).not.toMatch(/\n\s+at /);
}

/** Names, types, modes and bytes of everything under `dir`, recursively (links by their target). */
async function hashTree(dir: string): Promise<string> {
  const h = createHash('sha256');
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const name of (await readdir(d)).sort()) {
      const p = join(d, name);
      const st = await lstat(p);
      h.update(`${rel}/${name}\0${st.mode}\0${st.size}\0`);
      if (st.isSymbolicLink()) h.update(await readlink(p));
      else if (st.isDirectory()) await walk(p, `${rel}/${name}`);
      else if (st.isFile()) h.update(await readFile(p));
    }
  };
  await walk(dir, '');
  return h.digest('hex');
}

function mkfifo(path: string): void {
  execFileSync('mkfifo', [path]);
}

async function expireClaim(path: string): Promise<void> {
  const t = await readTicketFile(path);
  if (!t.claim) throw new Error(`${path}: no claim`);
  await writeTicketFile(path, { ...t, claim: { ...t.claim, lease_expires_at: PAST } });
}

let dir: string;
let root: string;
let ctx: RunCtx;
beforeAll(async () => {
  await ensureDistBuilt();
});
beforeEach(async () => {
  dir = await makeTempDir('tq-untrusted-');
  root = join(dir, 'runs');
  ({ ctx } = await makeRun(root, 'demo'));
});
afterEach(async () => {
  await removeDir(dir);
});
afterAll(() => undefined);

describe('FIFOs named like tickets', () => {
  it('`tq claim` never hangs: it claims every real ticket, skips the FIFO (never opened), then says nothing is claimable', async () => {
    const ids = await addItems(ctx, 'parse', parseItems(6));
    const pending = stateDir(ctx, 'pending', 'parse');
    const fifo = ticketFileName('parse-zzzzzzzzzzz-fifo1');
    mkfifo(join(pending, fifo));
    await mkdir(join(pending, ticketFileName('parse-zzzzzzzzzzz-dir01')));
    await writeFile(join(dir, 'outside.json'), '{"secret":1}\n');
    await symlink(join(dir, 'outside.json'), join(pending, ticketFileName('parse-zzzzzzzzzzz-link1')));
    await mkdir(claimedDir(ctx, 'w1'), { recursive: true });
    mkfifo(join(claimedDir(ctx, 'w1'), ticketFileName('parse-zzzzzzzzzzz-fifo2')));
    const claimed: string[] = [];
    for (let i = 0; i < ids.length + 1; i += 1) {
      const r = await tq(root, ['claim', 'demo', '--type', 'parse', '--worker', 'w1', '--json']);
      expectFinished(r, [0, 3], `claim #${i + 1}`);
      if (r.code === 3) break;
      claimed.push((JSON.parse(r.stdout) as { ticket: { ticket_id: string } }).ticket.ticket_id);
    }
    expect(claimed.sort()).toEqual([...ids].sort());
    // Skipped, left where they were (fsck reports them), never taken or opened.
    expect((await readdir(pending)).sort()).toEqual([fifo, ticketFileName('parse-zzzzzzzzzzz-dir01'), ticketFileName('parse-zzzzzzzzzzz-link1')].sort());
    expect(await readFile(join(dir, 'outside.json'), 'utf8')).toBe('{"secret":1}\n');
  });

  it('list, status, show, stats, concerns, top, lineage and reap finish', async () => {
    const ids = await addItems(ctx, 'parse', parseItems(3));
    const c = await claimTicket(ctx, { stage: 'parse', workerId: 'w1' });
    if (!c) throw new Error('nothing claimed');
    const fifoId = 'parse-zzzzzzzzzzz-fifo1';
    mkfifo(join(stateDir(ctx, 'pending', 'parse'), ticketFileName(fifoId)));
    mkfifo(join(claimedDir(ctx, 'w1'), ticketFileName('parse-zzzzzzzzzzz-fifo2')));
    mkfifo(join(ctx.paths.registry, 'parse', ticketFileName(fifoId)));
    const runs: [string[], number[]][] = [
      [['list', 'demo'], [0]],
      [['status', 'demo'], [0]],
      [['show', 'demo', ids[0] as string], [0]],
      [['show', 'demo', fifoId], [11]],
      [['stats', 'demo'], [0]],
      [['concerns', 'demo'], [0]],
      [['top', 'demo', '--once'], [0]],
      [['lineage', 'demo', c.ticket.ticket_id], [0]],
      [['lineage', 'demo', fifoId], [4]],
      [['reap', 'demo', '--json'], [0]],
    ];
    for (const [args, codes] of runs) expectFinished(await tq(root, args), codes, args.join(' '));
    const show = await tq(root, ['show', 'demo', fifoId]);
    expect(show.stderr).toMatch(/not a regular file \(FIFO\), not a ticket file/);
  });
});

describe('a claim takes only a regular file', () => {
  it('an entry swapped for a FIFO between the scan and the rename is quarantined, not stamped, and the claim goes on', async () => {
    const ids = await addItems(ctx, 'parse', parseItems(2));
    let swapped: string | undefined;
    const fs: Fs = {
      ...nodeFs,
      rename: async (from, to) => {
        if (swapped === undefined && from.includes('/pending/parse/')) {
          // RACE (forced): an agent replaces the ticket with a FIFO right before our rename.
          swapped = from;
          await rename(from, join(dir, 'saved.json'));
          mkfifo(from);
        }
        return nodeFs.rename(from, to);
      },
    };
    const c = await openRun(root, 'demo', { fs, durability: 'none', clock: fixedClock('2030-01-01T00:00:00.000Z') });
    const r = await claimTicket(c, { stage: 'parse', workerId: 'w1' });
    expect(swapped).toBeDefined();
    expect(r?.ticket.status).toBe('claimed');
    expect(ids).toContain(r?.ticket.ticket_id);
    const q = await readdir(ctx.paths.quarantine);
    expect(q.filter((n) => n.endsWith('.why.json'))).toHaveLength(1);
    const why = JSON.parse(await readFile(join(ctx.paths.quarantine, q.find((n) => n.endsWith('.why.json')) as string), 'utf8')) as { reason: string };
    expect(why.reason).toMatch(/not a regular file \(FIFO\)/);
  });
});

describe('one odd entry in claimed/ never stops a reap pass', () => {
  async function plantOddClaims(): Promise<{ expired: string[]; parse: string; outsideHash: string; outside: string }> {
    await addItems(ctx, 'parse', parseItems(9));
    const expired: string[] = [];
    for (const w of ['w1', 'w2', 'w3']) {
      for (let i = 0; i < 3; i += 1) {
        const c = await claimTicket(ctx, { stage: 'parse', workerId: w });
        if (!c) throw new Error('nothing claimed');
        await expireClaim(c.path);
        expired.push(c.ticket.ticket_id);
      }
    }
    // One ticket claims to be of stage "Parse" (no such stage).
    const parse = expired.shift() as string;
    const parsePath = join(claimedDir(ctx, 'w1'), ticketFileName(parse));
    const t = await readTicketFile(parsePath);
    await writeTicketFile(parsePath, { ...t, worker_type: 'Parse' });
    const outside = join(dir, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, ticketFileName('parse-zzzzzzzzzzz-link1')), await readFile(join(claimedDir(ctx, 'w2'), ticketFileName(expired[3] as string))));
    for (const w of ['w1', 'w2', 'w3']) {
      await symlink(join(outside, ticketFileName('parse-zzzzzzzzzzz-link1')), join(claimedDir(ctx, w), ticketFileName(`parse-zzzzzzzzzzz-link${w}`)));
      await mkdir(join(claimedDir(ctx, w), ticketFileName(`parse-zzzzzzzzzzz-dir${w}`)));
    }
    return { expired, parse, outside, outsideHash: await hashTree(outside) };
  }

  it('`tq reap`: every other expired claim is requeued; the link and the directory are quarantined; the odd ticket is reported', async () => {
    const { expired, parse, outside, outsideHash } = await plantOddClaims();
    const r = await tq(root, ['reap', 'demo', '--json']);
    expectFinished(r, [0], 'reap');
    const actions = (JSON.parse(r.stdout) as { actions: { ticket_id: string; action: string; note: string }[] }).actions;
    const requeued = actions.filter((a) => a.action === 'requeued').map((a) => a.ticket_id);
    expect(requeued.sort()).toEqual([...expired].sort());
    const odd = actions.find((a) => a.ticket_id === parse);
    // Reported: skipped with the reason (or, where the location check applies, quarantined).
    expect(['skipped', 'quarantined']).toContain(odd?.action);
    expect(odd?.note).toMatch(/Parse/);
    expect(actions.filter((a) => a.action === 'quarantined' && /zzzzzzzzzzz-(link|dir)/.test(a.ticket_id))).toHaveLength(6);
    expect(await hashTree(outside)).toBe(outsideHash);
    for (const id of expired) expect(await readdir(stateDir(ctx, 'pending', 'parse'))).toContain(ticketFileName(id));
  });

  it('reapExpired (in process) the same, whatever the listing order', async () => {
    const { expired, outside, outsideHash } = await plantOddClaims();
    const later = await openRun(root, 'demo', { durability: 'none', clock: fixedClock('2030-01-02T00:00:00.000Z') });
    const actions = await reapExpired(later);
    expect(actions.filter((a) => a.action === 'requeued').map((a) => a.ticket_id).sort()).toEqual([...expired].sort());
    expect(await hashTree(outside)).toBe(outsideHash);
    // A second pass finds only the odd ticket (left alone) to report.
    const again = await reapExpired(later);
    expect(again.filter((a) => a.action !== 'skipped' && a.action !== 'quarantined')).toEqual([]);
  });
});

describe('state directories that are links out of the run', () => {
  type Linked = 'pending/parse' | 'claimed/w1' | '.tmp' | 'moving';
  /** Expected exit codes of claim, submit and reap (0: done without touching the link; 14: UNSAFE_PATH). */
  const CASES: Record<Linked, { claim: number[]; submit: number[]; reap: number[] }> = {
    'pending/parse': { claim: [14], submit: [0], reap: [0] },
    'claimed/w1': { claim: [14], submit: [14], reap: [0] },
    '.tmp': { claim: [0, 3], submit: [14], reap: [14] },
    moving: { claim: [14], submit: [14], reap: [14] },
  };

  for (const [linked, expected] of Object.entries(CASES) as [Linked, (typeof CASES)[Linked]][]) {
    it(`${linked} -> a directory outside the run: claim, submit and reap leave it alone, byte for byte`, async () => {
      await addItems(ctx, 'parse', parseItems(4));
      const a = await claimTicket(ctx, { stage: 'parse', workerId: 'w1' });
      const b = await claimTicket(ctx, { stage: 'parse', workerId: 'w1' });
      if (!a || !b) throw new Error('nothing claimed');
      await expireClaim(b.path);
      const sentinel = join(dir, 'sentinel');
      const linkPath = join(ctx.paths.dir, linked);
      // The hostile agent's move: the directory goes outside the run, a link takes its place.
      await mkdir(linkPath, { recursive: true });
      await rename(linkPath, sentinel);
      // Lures: files a careless reaper, recoverer or cleaner would move or delete.
      await writeFile(join(sentinel, ticketFileName('parse-zzzzzzzzzzz-victm')), '{"precious":true}\n');
      await writeFile(join(sentinel, movingFileName('parse-zzzzzzzzzzz-victm', 'n1', MovingKind.prev)), '{"precious":true}\n');
      await writeFile(join(sentinel, tempFileName('x.json', 1, 'n2')), 'precious\n');
      await symlink(sentinel, linkPath);
      const before = await hashTree(sentinel);

      const claim = await tq(root, ['claim', 'demo', '--type', 'parse', '--worker', 'w1', '--json']);
      expectFinished(claim, expected.claim, `${linked}: claim`);
      const submit = await tq(root, ['submit', 'demo', a.ticket.ticket_id, '--worker', 'w1', '--output', '-', '--json'], '{}');
      expectFinished(submit, expected.submit, `${linked}: submit`);
      const reap = await tq(root, ['reap', 'demo', '--json']);
      expectFinished(reap, expected.reap, `${linked}: reap`);
      for (const r of [claim, submit, reap]) {
        if (r.code === 14) {
          const err = (JSON.parse(r.stderr) as { error: { code: string; file: string; message: string } }).error;
          expect(err.code).toBe('UNSAFE_PATH');
          expect(err.file).toBe(linkPath);
          expect(err.message).toMatch(/symbolic link/);
        }
      }
      if (reap.code === 0 && linked !== '.tmp') {
        // The expired claim could not be reaped through the link: reported, not silently dropped.
        const actions = (JSON.parse(reap.stdout) as { actions: { action: string; note: string }[] }).actions;
        expect(actions.some((x) => x.action === 'skipped' && x.note.includes(linkPath))).toBe(true);
      }
      expect(await hashTree(sentinel)).toBe(before);
      expect((await lstat(linkPath)).isSymbolicLink()).toBe(true);
      await rm(linkPath);
    });
  }
});
