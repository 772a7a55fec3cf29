import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRun } from '../../src/core/ops/create-run.js';
import type { RunCtx } from '../../src/core/store/run-context.js';
import { ensureDistBuilt } from '../helpers/build-dist.js';
import { addItems, examplePipeline, parseItems } from '../helpers/make-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';
import { expectFsckOk, ls, readTicketFile, stateFile } from '../helpers/ticket-files.js';
import { waitFor } from '../helpers/wait-for.js';
import { allTicketIds, completeByHand, hashTree, makeSentinel, mkfifo, spawnDaemon, specialFilesUnder, type DaemonProcess } from './daemon-test-kit.js';
import { FileOnlyAgent } from './file-only-agent.js';

const FAST = ['--interval', '200ms', '--settle', '50ms', '--file-settle', '200ms', '--json'];
const STOP_WITHIN_MS = 10_000;

let root: string;
let ctx: RunCtx;
let sentinel: string;
let sentinelHash: string;
const started: DaemonProcess[] = [];
beforeAll(async () => {
  await ensureDistBuilt();
});
beforeEach(async () => {
  root = await makeTempDir();
  ctx = await createRun(root, 'demo', { pipeline: examplePipeline(), durability: 'none' });
  sentinel = await makeSentinel(root);
  sentinelHash = await hashTree(sentinel);
});
afterEach(async () => {
  for (const p of started.splice(0)) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await removeDir(root);
});

function daemon(args: string[]): DaemonProcess {
  const p = spawnDaemon(root, args);
  started.push(p);
  return p;
}

/** SIGTERM, and the daemon must be gone (exit 0) within STOP_WITHIN_MS. */
async function stopWithin(d: DaemonProcess): Promise<void> {
  const asked = Date.now();
  d.child.kill('SIGTERM');
  const exited = await Promise.race([d.exit, new Promise<'hung'>((r) => setTimeout(() => r('hung'), STOP_WITHIN_MS))]);
  expect(exited, `the daemon did not stop within ${STOP_WITHIN_MS} ms of SIGTERM`).toEqual({ code: 0, signal: null });
  expect(Date.now() - asked).toBeLessThan(STOP_WITHIN_MS);
}

describe('tq daemon among FIFOs named like tickets and agent files (real process)', () => {
  it('never opens one: it serves a real agent, cascades, quarantines them, and stops on SIGTERM', async () => {
    const ids = await addItems(ctx, 'parse', parseItems(3));
    const [parent, forFifo] = ids as [string, string];
    // A parent completed (as a submit would) whose cascade marker name is taken by a FIFO.
    await completeByHand(ctx, 'parse', parent, { beats: ['x'] });
    await mkdir(ctx.paths.cascadeDone, { recursive: true });
    mkfifo(join(ctx.paths.cascadeDone, `${parent}.json`));
    // FIFOs where the daemon (and the core operations it runs) read tickets and agents' files.
    const w = join(ctx.paths.dir, 'claimed', 'fifo-agent');
    await mkdir(w, { recursive: true });
    mkfifo(join(w, `${forFifo}.json`));
    mkfifo(join(w, `${forFifo}~1.result.json`));
    mkfifo(join(ctx.paths.requests, 'fifo-agent~1.json'));
    mkfifo(join(ctx.paths.requests, 'fifo-agent~1.reply.json'));
    await mkdir(ctx.paths.moving, { recursive: true });
    mkfifo(join(ctx.paths.moving, `${forFifo}~0123456789ab.prev.json`));
    await mkdir(join(ctx.paths.registry, 'translate'), { recursive: true });
    mkfifo(join(ctx.paths.registry, 'translate', 'translate-fifo.json'));
    await mkdir(join(ctx.paths.dir, 'completed', 'parse'), { recursive: true });
    mkfifo(join(ctx.paths.dir, 'completed', 'parse', 'parse-fifo.json'));
    mkfifo(join(ctx.paths.dir, '.daemon.lock'));

    const d = daemon(['demo', ...FAST]);
    await waitFor(() => d.entries().some((e) => e.action === 'ready'), 20_000, 'the daemon to be ready');
    // A real agent is served through all of it.
    const agent = new FileOnlyAgent(ctx.paths.dir, 'real-agent');
    const reply = await agent.request('parse');
    expect(reply.status).toBe('claimed');
    expect(await agent.submit(String(reply.ticket_id), { output_data: { beats: ['by file'] } })).toEqual({ accepted: true });
    // The parent whose marker name was a FIFO is cascaded.
    await waitFor(async () => (await ls(ctx.paths.cascadeDone)).length >= 2, 20_000, 'the cascades');
    // The FIFOs the daemon reads from are quarantined (the registry one is fsck's to report).
    await waitFor(async () => (await specialFilesUnder(ctx.paths.dir)).filter((p) => !p.startsWith('quarantine/')).length === 1, 20_000, 'the FIFOs to be quarantined');
    expect((await specialFilesUnder(ctx.paths.dir)).filter((p) => !p.startsWith('quarantine/'))).toEqual(['registry/translate/translate-fifo.json']);
    await stopWithin(d);
    expect(await hashTree(sentinel)).toBe(sentinelHash);
    // fsck reads every file: only once no FIFO is left where it looks (the registry one is taken away by hand).
    await unlink(join(ctx.paths.registry, 'translate', 'translate-fifo.json'));
    await rmQuarantinedSpecials();
    const all = await allTicketIds(ctx);
    expect(new Set(all).size).toBe(all.length);
    await expectFsckOk(ctx);
  });

  it('stops on SIGTERM at once even while FIFOs sit in every directory it reads', async () => {
    const [id] = await addItems(ctx, 'parse', parseItems(1));
    const w = join(ctx.paths.dir, 'claimed', 'w1');
    await mkdir(w, { recursive: true });
    for (let i = 0; i < 5; i += 1) mkfifo(join(w, `parse-f${i}.json`));
    await mkdir(ctx.paths.moving, { recursive: true });
    mkfifo(join(ctx.paths.moving, `${id}~0123456789ab.next.json`));
    const d = daemon(['demo', ...FAST]);
    await waitFor(() => d.entries().some((e) => e.action === 'ready'), 20_000, 'the daemon to be ready');
    // New FIFOs while it runs: events name them.
    for (let i = 5; i < 10; i += 1) mkfifo(join(w, `parse-f${i}.json`));
    mkfifo(join(w, 'parse-f.heartbeat.json'));
    await waitFor(() => d.entries().filter((e) => e.action === 'quarantined').length >= 11, 20_000, 'the FIFOs to be quarantined');
    await stopWithin(d);
    expect(await hashTree(sentinel)).toBe(sentinelHash);
  });
});

describe('tq daemon: a claimed ticket an agent wrote garbage into (real process)', () => {
  it('is quarantined and restored from registry/ into pending/; fsck is clean; the ticket can be done again', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    const d = daemon(['demo', ...FAST]);
    await waitFor(() => d.entries().some((e) => e.action === 'ready'), 20_000, 'the daemon to be ready');
    const agent = new FileOnlyAgent(ctx.paths.dir, 'hostile');
    const reply = await agent.request('parse');
    const id = String(reply.ticket_id);
    await writeFile(join(ctx.paths.dir, String(reply.ticket_path)), 'garbage, not a ticket {{{');
    await waitFor(async () => (await ls(join(ctx.paths.dir, 'pending', 'parse'))).includes(`${id}.json`), 20_000, 'the restore');
    expect(await ls(join(ctx.paths.dir, 'claimed', 'hostile'))).toEqual([]);
    expect((await readTicketFile(stateFile(ctx, 'pending', 'parse', id))).history.at(-1)?.event).toBe('restored from registry');
    const why = (await ls(ctx.paths.quarantine)).find((n) => n.startsWith(`${id}.json~`) && n.endsWith('.why.json'));
    expect(JSON.parse(await readFile(join(ctx.paths.quarantine, String(why)), 'utf8'))).toMatchObject({ reason: expect.stringContaining('not valid JSON') });
    // Done again by an honest agent.
    const honest = new FileOnlyAgent(ctx.paths.dir, 'honest');
    const again = await honest.request('parse');
    expect(again.ticket_id).toBe(id);
    expect(await honest.submit(id, { output_data: { beats: [] } })).toEqual({ accepted: true });
    await stopWithin(d);
    expect(d.entries().filter((e) => e.action === 'restored').map((e) => e.ticket_id)).toEqual([id]);
    expect(await hashTree(sentinel)).toBe(sentinelHash);
    await expectFsckOk(ctx);
  });
});

describe('tq daemon: a run renamed while an all-runs daemon serves it (real process)', () => {
  it('is served under its new name; the old name is dropped; the log says so', async () => {
    await addItems(ctx, 'parse', parseItems(2));
    const d = daemon(FAST);
    await waitFor(() => d.entries().some((e) => e.action === 'ready'), 20_000, 'the daemon to be ready');
    await waitFor(async () => (await ls(ctx.paths.dir)).includes('.daemon.lock'), 10_000, 'the lock');
    const renamed = join(root, 'renamed');
    await rename(ctx.paths.dir, renamed);
    await waitFor(() => d.entries().some((e) => e.action === 'run renamed'), 20_000, 'the daemon to see the rename');
    const agent = new FileOnlyAgent(renamed, 'after-rename');
    const reply = await agent.request('parse');
    expect(reply.status).toBe('claimed');
    expect(await agent.submit(String(reply.ticket_id), { output_data: { beats: [] } })).toEqual({ accepted: true });
    const renamedLog = d.entries().find((e) => e.action === 'run renamed');
    expect(renamedLog).toMatchObject({ run: 'renamed' });
    expect(renamedLog?.note).toContain('"demo" was renamed to "renamed"');
    expect(d.entries().some((e) => e.action === 'run gone' && e.run === 'demo')).toBe(true);
    // Never blamed on "a daemon already running" (its own pid).
    expect(d.entries().filter((e) => e.action === 'skipped')).toEqual([]);
    expect(JSON.parse(await readFile(join(renamed, '.daemon.lock'), 'utf8'))).toMatchObject({ pid: d.child.pid, run_id: 'renamed' });
    await stopWithin(d);
    expect(await ls(renamed)).not.toContain('.daemon.lock');
    expect(await hashTree(sentinel)).toBe(sentinelHash);
  });
});

/** FIFOs moved into quarantine/ are evidence, but fsck lists quarantine/ only; drop them so a later reader cannot trip. */
async function rmQuarantinedSpecials(): Promise<void> {
  for (const p of await specialFilesUnder(ctx.paths.quarantine)) await unlink(join(ctx.paths.quarantine, p));
}
