import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRun } from '../../../src/core/ops/create-run.js';
import { openRun } from '../../../src/core/store/run-context.js';
import { addTickets, itemsOf } from '../../../src/core/ops/add-tickets.js';
import { claimTicket } from '../../../src/core/ops/claim-ticket.js';
import { listTickets } from '../../../src/core/views/list-tickets.js';
import { showTicket } from '../../../src/core/views/show-ticket.js';
import { fsckRun } from '../../../src/core/fsck/fsck-run.js';
import { ensureDistBuilt } from '../../helpers/build-dist.js';
import { examplePipeline } from '../../helpers/make-run.js';
import { runTq } from '../../helpers/capture-io.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';
import { ls } from '../../helpers/ticket-files.js';
import { countCalls, crashAtEveryStep, KINDS, prepareCrashSuite, runTraced } from '../../helpers/strace-crash.js';

/**
 * Crash a real `tq fail` (a failed attempt sent back to pending/ into a delayed lane, by the
 * stage's retry backoff) with SIGKILL at every rename, unlink and data write it makes, then
 * recover the way an operator would, and check the ticket is in its lane exactly once, with the
 * failure recorded exactly once.
 */
const WAKEUP_SAMPLE = 10;
const ERROR = 'exit 1: model timed out';

let base: string;
let template: string;
let id: string;
let token: string;
let restoreEnv: () => void = () => undefined;

beforeAll(async () => {
  restoreEnv = await prepareCrashSuite(ensureDistBuilt);
  base = await makeTempDir('tq-crash-fail-');
  template = join(base, 'template');
  const pipeline = examplePipeline() as { stages: Record<string, Record<string, unknown>> };
  pipeline.stages.parse = { ...pipeline.stages.parse, retry: { backoff: 'fixed', delay: '1h' } };
  // Real clock: the recovery below runs the reaper, and the lease must still be live then.
  const ctx = await createRun(template, 'crash', { pipeline, durability: 'none' });
  await addTickets(ctx, 'parse', itemsOf([{ text: 'one' }, { text: 'two' }]));
  const c = await claimTicket(ctx, { stage: 'parse', workerId: 'w1', lease: '1h' });
  if (!c?.ticket.claim) throw new Error('template: nothing claimed');
  id = c.ticket.ticket_id;
  token = c.ticket.claim.token;
});

afterAll(async () => {
  restoreEnv();
  await removeDir(base);
});

function failArgs(): string[] {
  return ['fail', 'crash', id, '--worker', 'w1', '--token', token, '--error', ERROR];
}

async function copyTemplate(name: string): Promise<string> {
  const root = join(base, name);
  await cp(template, root, { recursive: true });
  return root;
}

/** The failed attempt happened exactly once: the ticket waits in its delayed lane, once. */
async function expectFailedOnce(root: string, label: string): Promise<void> {
  const ctx = await openRun(root, 'crash', { durability: 'none' });
  const report = await fsckRun(ctx);
  expect(report.problems, `${label}: fsck problems`).toEqual([]);
  const all = await listTickets(ctx);
  expect(all.filter((t) => t.ticket_id === id), `${label}: copies of the ticket`).toHaveLength(1);
  expect(all.map((t) => t.state).sort(), `${label}: states`).toEqual(['pending', 'pending']);
  const view = await showTicket(ctx, id);
  expect(view.path, label).toMatch(new RegExp(`/pending/parse/lanes/p0\\.due-\\d{8}T\\d{6}Z/${id}\\.json$`));
  expect(view.ticket.attempts, label).toBe(1);
  expect(view.ticket.attempt_errors?.map((e) => e.error), label).toEqual([ERROR]);
  expect(view.ticket.history.filter((h) => h.event === 'attempt failed'), label).toHaveLength(1);
  expect(await ls(ctx.paths.moving), `${label}: moving/ left over`).toEqual([]);
}

/** After a crash: re-run the same `tq fail` and `tq fsck --repair --settle 0` (in either order). */
async function recover(root: string, failFirst: boolean, label: string): Promise<void> {
  const fsck = async (): Promise<void> => {
    const r = await runTq(root, ['fsck', 'crash', '--repair', '--settle', '0']);
    expect(r.code, `${label}: fsck --repair\n${r.stdout}${r.stderr}`).toBe(0);
  };
  if (!failFirst) await fsck();
  const again = await runTq(root, failArgs());
  // 0: the crash came before the move took effect; 5 (LEASE_LOST): it had, the ticket is no longer held.
  expect([0, 5], `${label}: re-run fail\n${again.stdout}${again.stderr}`).toContain(again.code);
  if (failFirst) await fsck();
  const last = await runTq(root, failArgs());
  expect(last.code, `${label}: a second report is refused\n${last.stderr}`).toBe(5);
}

describe('crash midway through `tq fail` (strace SIGKILL injection)', () => {
  it('N = 1.. for every rename, unlink and write: recovery leaves the ticket in its delayed lane once, failed once', async () => {
    const t0 = performance.now();
    const probe = await copyTemplate('probe');
    const { result, calls } = await runTraced(probe, failArgs(), { traceFile: join(base, 'probe.trace') });
    expect(result.code, result.stderr).toBe(0);
    await expectFailedOnce(probe, 'uninterrupted');
    const counts = countCalls(calls);
    // A move into pending/ commits with rename: no link.
    for (const kind of ['rename', 'unlink', 'write'] as const) expect(counts[kind], `the fail makes no ${kind} call?`).toBeGreaterThan(0);

    let copies = 0;
    const { runs, crashed, dataWrites } = await crashAtEveryStep(calls, failArgs(), {
      copy: () => copyTemplate(`copy-${(copies += 1)}`),
      recover: (root, n, label) => recover(root, n % 2 === 1, label),
      check: expectFailedOnce,
      wakeupSample: WAKEUP_SAMPLE,
    });
    console.log(
      `crash-midway fail: ${runs} runs, ${runs - KINDS.length} crashes (rename ${crashed.rename}/${counts.rename}, unlink ${crashed.unlink}/${counts.unlink}, ` +
        `write ${crashed.write}/${counts.write}: all ${dataWrites} file-data writes + every ${WAKEUP_SAMPLE}th wake-up), each recovered with the ticket once in its lane; ` +
        `${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  });
});
