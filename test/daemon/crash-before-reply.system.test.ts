/**
 * Issue 15: a daemon killed between reading a request and writing its reply. strace kills the
 * real daemon process (`tq daemon --once`) at the rename that would put the reply in place: it
 * has taken the request and claimed a ticket for it, and no reply exists. Which rename that is
 * comes from a probe run on an identical copy of the run (strace-crash.ts: counted from after
 * module loading, the Nth call is the same call on every run). A daemon started after it must
 * answer the request exactly once, with that same claim (recover-request.ts): no ticket claimed
 * twice, none stranded in claimed/ without the agent being told.
 */
import { cp, realpath, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ensureDistBuilt } from '../helpers/build-dist.js';
import { addItems, makeRun, parseItems, type TestRun } from '../helpers/make-run.js';
import { requireStrace, runTraced, wasKilled } from '../helpers/strace-crash.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';
import { expectFsckOk, ls } from '../helpers/ticket-files.js';
import { waitFor } from '../helpers/wait-for.js';
import { readJson, spawnDaemon, workerDir, type DaemonProcess } from './daemon-test-kit.js';

/** Why 100ms: a taken file is judged left behind after max(10 x settle, 1 s) = 1 s (daemon-defaults.ts). */
const DAEMON_ARGS = ['demo', '--json', '--settle', '100ms', '--interval', '200ms'];

let root: string;
let run: TestRun;
let daemon: DaemonProcess | undefined;
beforeAll(async () => {
  requireStrace();
  await ensureDistBuilt();
});
beforeEach(async () => {
  root = await realpath(await makeTempDir());
  run = await makeRun(root);
  await addItems(run.ctx, 'parse', parseItems(3));
});
afterEach(async () => {
  daemon?.child.kill('SIGKILL');
  await daemon?.exit;
  daemon = undefined;
  await removeDir(root);
});

/**
 * Run `tq daemon demo --once` under strace on `dir` (a copy of the run's root, so the run it is
 * killed on starts from the same state), SIGKILLed at the rename that writes `replyName`.
 */
async function killAtReply(dir: string, replyName: string): Promise<void> {
  const probeRoot = `${dir}-probe`;
  await cp(dir, probeRoot, { recursive: true });
  const probe = await runTraced(probeRoot, ['daemon', 'demo', '--once', '--json'], { traceFile: join(probeRoot, '..', `trace-${process.pid}.txt`) });
  await removeDir(probeRoot);
  const renames = probe.calls.filter((c) => c.kind === 'rename');
  const n = renames.findIndex((c) => c.args.includes(`/requests/${replyName}"`)) + 1;
  expect(n, `the probe never renamed ${replyName} into place: ${probe.result.stderr}`).toBeGreaterThan(0);
  const killed = await runTraced(dir, ['daemon', 'demo', '--once', '--json'], { kill: { kind: 'rename', n } });
  expect(wasKilled(killed.result), `not killed at rename ${n}: ${killed.result.stderr}`).toBe(true);
}

describe('a daemon killed between taking a request and writing its reply', () => {
  it('the next daemon replies once, with the ticket the dead one claimed for it; nothing is claimed twice or stranded', async () => {
    const requests = run.ctx.paths.requests;
    await writeFile(join(requests, 'agent-1~r1.json'), '{"stage": "parse"}');
    await killAtReply(root, 'agent-1~r1.reply.json');

    // What it left: the request taken (stamped with the time of the take), one claim, no reply.
    const held = await ls(workerDir(run.ctx, 'agent-1'));
    expect(held).toHaveLength(1);
    const left = await ls(requests);
    expect(left.filter((n) => n.endsWith('.reply.json'))).toEqual([]);
    expect(left.filter((n) => /^\.agent-1~r1\.json\.[0-9a-f]+\.at-[0-9a-f]+\.taken$/.test(n))).toHaveLength(1);

    daemon = spawnDaemon(root, DAEMON_ARGS);
    const d = daemon;
    const reply = await waitFor(() => readJson(join(requests, 'agent-1~r1.reply.json')).catch(() => undefined), 20_000, 'the reply to agent-1~r1');
    expect(reply).toMatchObject({ request_id: 'r1', status: 'claimed', ticket_id: held[0]?.replace(/\.json$/, '') });
    // Later passes leave it alone: another worker's request is served after it...
    await writeFile(join(requests, 'agent-2~r1.json'), '{"stage": "parse"}');
    await waitFor(() => readJson(join(requests, 'agent-2~r1.reply.json')).catch(() => undefined), 20_000, 'the reply to agent-2~r1');
    // ...and still the one reply, the one claim, no request left.
    expect(await ls(workerDir(run.ctx, 'agent-1'))).toEqual(held);
    expect(await readJson(join(requests, 'agent-1~r1.reply.json'))).toEqual(reply);
    expect((await ls(requests)).filter((n) => n.startsWith('agent-1') || n.startsWith('.agent-1'))).toEqual(['agent-1~r1.reply.json']);
    const actions = d.entries().filter((e) => e.worker_id === 'agent-1').map((e) => e.action);
    expect(actions).toEqual(['claim recovered']);
    // The killed write's temp file goes too, once older than the temp settle time (5 s here).
    await waitFor(async () => (await ls(join(run.ctx.paths.dir, '.tmp'))).length === 0 || undefined, 20_000, 'the dead daemon\'s temp file to be cleaned');
    d.child.kill('SIGTERM');
    await d.exit;
    daemon = undefined;
    await expectFsckOk(run.ctx);
  });
});
