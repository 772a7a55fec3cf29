import { mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimTicket } from '../../src/core/ops/claim-ticket.js';
import { serializeTicket } from '../../src/core/model/serialize-ticket.js';
import type { Ticket } from '../../src/core/model/ticket-schema.js';
import { runStatus } from '../../src/core/views/list-tickets.js';
import { MAX_OPEN_REQUESTS } from '../../src/daemon/scan-requests.js';
import { addItems, makeRun, parseItems, type TestRun } from '../helpers/make-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';
import { expectFsckOk, ls, readTicketFile, stateFile } from '../helpers/ticket-files.js';
import { hashTree, makeSentinel, mkfifo, passDaemon, readJson, workerDir, type InProcessDaemon } from './daemon-test-kit.js';

/** Settle times of 0: what waits for them happens on the first pass that sees it. */
const NO_SETTLE = { settle: { fileMs: 0, movingMs: 0, takenMs: 5000, tmpMs: 60_000 } };

let root: string;
let run: TestRun;
let sentinel: string;
let sentinelHash: string;
let d: InProcessDaemon | undefined;
beforeEach(async () => {
  root = await makeTempDir();
  run = await makeRun(root);
  sentinel = await makeSentinel(root);
  sentinelHash = await hashTree(sentinel);
});
afterEach(async () => {
  await d?.daemon.stop();
  d = undefined;
  // Nothing beside the run was read into, moved or deleted, whatever the test did.
  expect(await hashTree(sentinel)).toBe(sentinelHash);
  await removeDir(root);
});

async function claimOne(worker = 'w1'): Promise<{ id: string; path: string; ticket: Ticket }> {
  const c = await claimTicket(run.ctx, { stage: 'parse', workerId: worker, lease: '1h' });
  if (!c) throw new Error('nothing to claim');
  return { id: c.ticket.ticket_id, path: c.path, ticket: c.ticket };
}

const pendingParse = (): Promise<string[]> => ls(join(run.ctx.paths.dir, 'pending', 'parse'));

describe('a claimed ticket an agent wrote garbage into', () => {
  it('is quarantined (after the settle time) and restored from registry/ into pending/; status keeps it; fsck is clean', async () => {
    await addItems(run.ctx, 'parse', parseItems(2));
    const { id, path } = await claimOne();
    await writeFile(path, '{"garbage": tru');
    d = await passDaemon(root, run.clock);
    await d.daemon.pass();
    // Not yet: it may be a write in progress.
    expect(await ls(workerDir(run.ctx, 'w1'))).toEqual([`${id}.json`]);
    run.clock.advance(1000);
    await d.daemon.pass();
    expect(await ls(workerDir(run.ctx, 'w1'))).toEqual([]);
    expect(await pendingParse()).toContain(`${id}.json`);
    const restored = await readTicketFile(stateFile(run.ctx, 'pending', 'parse', id));
    expect(restored).toMatchObject({ status: 'pending', claim: null });
    expect(restored.history.at(-1)?.event).toBe('restored from registry');
    expect(d.actions('quarantined').map((e) => e.ticket_id)).toEqual([id]);
    expect(d.actions('restored').map((e) => e.ticket_id)).toEqual([id]);
    const quarantined = await ls(run.ctx.paths.quarantine);
    expect(quarantined.some((n) => n.startsWith(`${id}.json~`) && n.endsWith('.why.json'))).toBe(true);
    expect((await runStatus(run.ctx)).totals).toMatchObject({ pending: 2, claimed: 0, all: 2 });
    await expectFsckOk(run.ctx);
  });

  it('content that disagrees with its place (ticket_id "../../../victim"): quarantined at once and restored; nothing written outside', async () => {
    await addItems(run.ctx, 'parse', parseItems(1));
    const { id, path, ticket } = await claimOne();
    await writeFile(path, serializeTicket({ ...ticket, ticket_id: '../../../sentinel/parse-victim' }));
    d = await passDaemon(root, run.clock);
    await d.daemon.pass();
    expect(await ls(workerDir(run.ctx, 'w1'))).toEqual([]);
    expect(await pendingParse()).toEqual([`${id}.json`]);
    expect(d.actions('quarantined')[0]?.note).toContain('field ticket_id');
    await expectFsckOk(run.ctx);
  });

  it('a copy of another worker’s claim in a second worker’s directory is quarantined; the original stays (nothing restored)', async () => {
    await addItems(run.ctx, 'parse', parseItems(1));
    const { id, path } = await claimOne('w1');
    await mkdir(workerDir(run.ctx, 'w2'), { recursive: true });
    await writeFile(join(workerDir(run.ctx, 'w2'), `${id}.json`), await readFile(path, 'utf8'));
    d = await passDaemon(root, run.clock);
    await d.daemon.pass();
    expect(await ls(workerDir(run.ctx, 'w2'))).toEqual([]);
    expect(await ls(workerDir(run.ctx, 'w1'))).toEqual([`${id}.json`]);
    expect(d.actions('quarantined')[0]?.note).toContain('claim.worker_id');
    expect(d.actions('restored')).toEqual([]);
    await expectFsckOk(run.ctx);
  });

  it('one odd entry in claimed/ never stops the reaper: the expired claims after it are still reaped', async () => {
    await addItems(run.ctx, 'parse', parseItems(3));
    const claims = [await claimOne('w1'), await claimOne('w2')];
    for (const c of claims) {
      const past = { ...c.ticket, claim: c.ticket.claim ? { ...c.ticket.claim, lease_expires_at: '2001-01-01T00:00:00.000Z' } : null };
      await writeFile(c.path, serializeTicket(past));
    }
    // A directory named like a ticket, a symlink named like one, a stray worker directory name.
    await mkdir(join(workerDir(run.ctx, 'w1'), 'parse-dir.json'));
    await symlink(join(sentinel, 'parse-victim.json'), join(workerDir(run.ctx, 'w1'), 'parse-victim.json'));
    await mkdir(join(run.ctx.paths.dir, 'claimed', 'bad name'), { recursive: true });
    await writeFile(join(run.ctx.paths.dir, 'claimed', 'bad name', 'parse-x.json'), '{}');
    // And a worker directory that is a link out of the run: left alone.
    await symlink(sentinel, join(run.ctx.paths.dir, 'claimed', 'evil'));
    d = await passDaemon(root, run.clock, NO_SETTLE);
    await d.daemon.pass();
    expect(d.actions('reaped: requeued').map((e) => e.ticket_id).sort()).toEqual(claims.map((c) => c.id).sort());
    expect(await ls(workerDir(run.ctx, 'w1'))).toEqual([]);
    expect(d.logs.some((e) => e.file === 'claimed/evil' && /not a real directory/.test(e.note ?? ''))).toBe(true);
  });
});

describe('the cascade of completed tickets', () => {
  it('skips a ticket moved into completed/ by hand (no submit in its history): logged once, no children', async () => {
    const [id] = await addItems(run.ctx, 'parse', parseItems(1));
    const t = await readTicketFile(stateFile(run.ctx, 'pending', 'parse', String(id)));
    await mkdir(join(run.ctx.paths.dir, 'completed', 'parse'), { recursive: true });
    await writeFile(stateFile(run.ctx, 'completed', 'parse', String(id)), serializeTicket({ ...t, status: 'completed' }));
    await rename(stateFile(run.ctx, 'pending', 'parse', String(id)), join(root, 'gone.json'));
    d = await passDaemon(root, run.clock, NO_SETTLE);
    await d.daemon.pass();
    await d.daemon.pass();
    expect(d.actions('not cascaded').map((e) => e.ticket_id)).toEqual([id]);
    expect(d.actions('cascaded')).toEqual([]);
    expect(await ls(join(run.ctx.paths.dir, 'pending', 'translate'))).toEqual([]);
    expect(await ls(run.ctx.paths.cascadeDone)).toEqual([]);
  });

  it('quarantines a completed ticket whose content disagrees with its place, and restores it', async () => {
    const [id] = await addItems(run.ctx, 'parse', parseItems(1));
    const { path, ticket } = await claimOne();
    expect(ticket.ticket_id).toBe(id);
    await mkdir(join(run.ctx.paths.dir, 'completed', 'parse'), { recursive: true });
    const done = stateFile(run.ctx, 'completed', 'parse', String(id));
    const history = [...ticket.history, { at: ticket.created_at, event: 'submitted' }];
    await writeFile(done, serializeTicket({ ...ticket, status: 'failed', output_data: { beats: [] }, history }));
    await rename(path, join(root, 'gone.json'));
    d = await passDaemon(root, run.clock, NO_SETTLE);
    await d.daemon.pass();
    expect(d.actions('cascaded')).toEqual([]);
    expect(d.actions('quarantined')[0]?.note).toContain('field status');
    expect(await pendingParse()).toEqual([`${id}.json`]);
    await expectFsckOk(run.ctx);
  });

  it('a FIFO named like a marker in cascade/done/ is quarantined, never read; the parent still cascades', async () => {
    const [id] = await addItems(run.ctx, 'parse', parseItems(1));
    const { ticket } = await claimOne();
    await mkdir(join(run.ctx.paths.dir, 'completed', 'parse'), { recursive: true });
    await mkdir(run.ctx.paths.cascadeDone, { recursive: true });
    mkfifo(join(run.ctx.paths.cascadeDone, `${id}.json`));
    const history = [...ticket.history, { at: ticket.created_at, event: 'submitted', from: 'claimed', to: 'completed' }];
    await writeFile(stateFile(run.ctx, 'completed', 'parse', String(id)), serializeTicket({ ...ticket, status: 'completed', output_data: { beats: [] }, history }));
    await rename(join(workerDir(run.ctx, 'w1'), `${id}.json`), join(root, 'gone.json'));
    d = await passDaemon(root, run.clock, NO_SETTLE);
    await d.daemon.pass();
    expect(d.actions('cascaded').map((e) => e.ticket_id)).toEqual([id]);
    expect((await readJson(join(run.ctx.paths.cascadeDone, `${id}.json`))).parent_id).toBe(id);
  });
});

describe('requests/', () => {
  it('junk names are quarantined in batches with one .why.json each; README, replies and requests stay', async () => {
    await addItems(run.ctx, 'parse', parseItems(1));
    for (let i = 0; i < 2500; i += 1) await writeFile(join(run.ctx.paths.requests, `junk-${i}.txt`), 'x');
    await writeFile(join(run.ctx.paths.requests, 'other.reply.json'), '{}');
    await writeFile(join(run.ctx.paths.requests, 'other~1.reply.json'), '{}');
    d = await passDaemon(root, run.clock, NO_SETTLE);
    await d.daemon.pass();
    expect(await ls(run.ctx.paths.requests)).toEqual(['README.md', 'other.reply.json', 'other~1.reply.json']);
    const q = await ls(run.ctx.paths.quarantine);
    const whys = q.filter((n) => n.endsWith('.why.json'));
    expect(whys).toHaveLength(3);
    const why = await readJson(join(run.ctx.paths.quarantine, String(whys[0])));
    expect(why).toMatchObject({ dir: 'requests', reason: expect.stringContaining('not a request file') });
    expect((why.files as string[]).length).toBeLessThanOrEqual(1000);
    expect(d.actions('quarantined')).toHaveLength(3);
    await expectFsckOk(run.ctx);
  });

  it(`requests beyond ${MAX_OPEN_REQUESTS} at once are a flood: the oldest are quarantined, the newest answered first`, async () => {
    await addItems(run.ctx, 'parse', parseItems(1));
    const n = MAX_OPEN_REQUESTS + 300;
    for (let i = 0; i < n; i += 1) await writeFile(join(run.ctx.paths.requests, `w${i}~1.json`), '{"stage": "curate"}');
    // Written last, like a worker asking while the flood is there: answered by the first scan.
    await writeFile(join(run.ctx.paths.requests, 'real~r1.json'), '{"stage": "parse"}');
    d = await passDaemon(root, run.clock, NO_SETTLE);
    await d.daemon.pass();
    expect(await readJson(join(run.ctx.paths.requests, 'real~r1.reply.json'))).toMatchObject({ status: 'claimed', request_id: 'r1' });
    // Each scan answers a bounded number; the flood is quarantined by the first.
    for (let i = 0; i < 8; i += 1) await d.daemon.pass();
    const left = await ls(run.ctx.paths.requests);
    expect(left.filter((x) => /^w\d+~1\.json$/.test(x))).toEqual([]);
    const replies = left.filter((x) => /^w\d+~1\.reply\.json$/.test(x)).length;
    const quarantinedFiles = d.actions('quarantined').reduce((sum, e) => sum + Number(/^(\d+) files/.exec(e.note ?? '')?.[1] ?? 0), 0);
    // Files written in the same clock tick have the same ctime: a few of the oldest may be answered instead.
    expect(replies).toBeGreaterThanOrEqual(MAX_OPEN_REQUESTS - 1);
    expect(quarantinedFiles).toBeGreaterThan(0);
    expect(replies + quarantinedFiles).toBe(n);
  });

  it('a FIFO as a request, or as the reply a request is checked against, never hangs the daemon', async () => {
    await addItems(run.ctx, 'parse', parseItems(1));
    mkfifo(join(run.ctx.paths.requests, 'fifo-worker~1.json'));
    mkfifo(join(run.ctx.paths.requests, 'a~r1.reply.json'));
    await writeFile(join(run.ctx.paths.requests, 'a~r1.json'), '{"stage": "parse"}');
    d = await passDaemon(root, run.clock, NO_SETTLE);
    await d.daemon.pass();
    expect(await readJson(join(run.ctx.paths.requests, 'a~r1.reply.json'))).toMatchObject({ status: 'claimed', request_id: 'r1' });
    expect(await readJson(join(run.ctx.paths.requests, 'fifo-worker~1.reply.json'))).toMatchObject({ status: 'error' });
    expect(await ls(run.ctx.paths.requests)).not.toContain('fifo-worker~1.json');
  });
});

describe('runs and locks', () => {
  it('a renamed run is served under its new name (all-runs mode); its lock is known as the daemon’s own', async () => {
    await addItems(run.ctx, 'parse', parseItems(1));
    d = await passDaemon(root, run.clock);
    await d.daemon.pass();
    expect(d.daemon.runIds()).toEqual(['demo']);
    await rename(run.ctx.paths.dir, join(root, 'renamed'));
    await d.daemon.pass();
    expect(d.daemon.runIds()).toEqual(['renamed']);
    expect(d.actions('run renamed')[0]?.note).toContain('"demo" was renamed to "renamed"');
    expect(d.actions('skipped')).toEqual([]);
    const lock = await readJson(join(root, 'renamed', '.daemon.lock'));
    expect(lock).toMatchObject({ pid: process.pid, run_id: 'renamed' });
    await writeFile(join(root, 'renamed', 'requests', 'a~r1.json'), '{"stage": "parse"}');
    await d.daemon.pass();
    expect(await readJson(join(root, 'renamed', 'requests', 'a~r1.reply.json'))).toMatchObject({ status: 'claimed' });
    await d.daemon.stop();
    expect(await ls(join(root, 'renamed'))).not.toContain('.daemon.lock');
  });

  it('a FIFO where the lock belongs is quarantined, not read', async () => {
    mkfifo(join(run.ctx.paths.dir, '.daemon.lock'));
    d = await passDaemon(root, run.clock);
    expect((await readJson(join(run.ctx.paths.dir, '.daemon.lock'))).pid).toBe(process.pid);
    expect((await ls(run.ctx.paths.quarantine)).some((n) => n.startsWith('.daemon.lock~'))).toBe(true);
  });

  it('a run whose .tmp/ is a link out of it is not served at all (logged once), and nothing outside is touched', async () => {
    await addItems(run.ctx, 'parse', parseItems(1));
    await rm(run.ctx.paths.tmp, { recursive: true, force: true });
    await symlink(sentinel, run.ctx.paths.tmp);
    await writeFile(join(run.ctx.paths.requests, 'a~r1.json'), '{"stage": "parse"}');
    d = await passDaemon(root, run.clock, { settle: { fileMs: 0, movingMs: 0, takenMs: 0, tmpMs: 0 } });
    await d.daemon.pass();
    run.clock.advance(10_000);
    await d.daemon.pass();
    // Why either entry: taking the run's lock writes through .tmp/, so the run is refused at
    // attach (UNSAFE_PATH) before a pass could find the link; both say which directory, once.
    const refusals = d.logs.filter((e) => e.action === 'not served' || (e.action === 'error' && JSON.stringify(e).includes('UNSAFE_PATH')));
    expect(refusals).toHaveLength(1);
    expect(JSON.stringify(refusals[0])).toContain('.tmp');
    expect(await ls(run.ctx.paths.requests)).toContain('a~r1.json');
  });
});
