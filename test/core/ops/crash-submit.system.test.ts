import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRun } from '../../../src/core/ops/create-run.js';
import { openRun } from '../../../src/core/store/run-context.js';
import { addTickets, itemsOf } from '../../../src/core/ops/add-tickets.js';
import { claimTicket } from '../../../src/core/ops/claim-ticket.js';
import { submitTicket } from '../../../src/core/ops/submit-ticket.js';
import { listTickets } from '../../../src/core/views/list-tickets.js';
import { showTicket } from '../../../src/core/views/show-ticket.js';
import { readCascadeMarker } from '../../../src/core/ops/cascade-ticket.js';
import { fsckRun } from '../../../src/core/fsck/fsck-run.js';
import { childTicketId } from '../../../src/core/model/ids.js';
import { ensureDistBuilt } from '../../helpers/build-dist.js';
import { examplePipeline } from '../../helpers/make-run.js';
import { runTq } from '../../helpers/capture-io.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';
import { ls } from '../../helpers/ticket-files.js';
import { countCalls, crashAtEveryStep, KINDS, prepareCrashSuite, runTraced } from '../../helpers/strace-crash.js';

/**
 * Crash a real `tq submit` (a translate ticket whose output fans out into keyed curate
 * children, one of which already exists) with SIGKILL at every rename, link, unlink and data
 * write it makes, then recover the way an operator would, and check nothing was lost,
 * duplicated or cascaded twice.
 */
const NOUNS = ['Hexagone', 'Gaule', 'Lutèce'];
/** One in this many of libuv's eventfd wake-up writes is also a crash point. */
const WAKEUP_SAMPLE = 10;
const OUTPUT = { new_nouns: NOUNS.map((noun) => ({ noun })) };

let base: string;
let template: string;
let t1: string;
let t2: string;
let token: string;
let restoreEnv: () => void = () => undefined;

beforeAll(async () => {
  restoreEnv = await prepareCrashSuite(ensureDistBuilt);
  base = await makeTempDir('tq-crash-submit-');
  template = join(base, 'template');
  // Real clock: the recovery below runs the reaper, and the lease must still be live then.
  const ctx = await createRun(template, 'crash', { pipeline: examplePipeline(), durability: 'none' });
  [t1, t2] = (await addTickets(ctx, 'translate', itemsOf([{ text: 'one' }, { text: 'two' }]))).ticket_ids as [string, string];
  const first = await claimTicket(ctx, { stage: 'translate', workerId: 'w0' });
  const c1 = first?.ticket.ticket_id === t1 ? first : undefined;
  if (!first) throw new Error('template: nothing claimed');
  // Whichever ticket came first becomes t1: it already created the Hexagone curate ticket.
  if (!c1) [t1, t2] = [t2, t1];
  await submitTicket(ctx, { ticketId: t1, workerId: 'w0', output: { new_nouns: [{ noun: 'Hexagone' }] } });
  const second = await claimTicket(ctx, { stage: 'translate', workerId: 'w1', lease: '1h' });
  if (second?.ticket.ticket_id !== t2 || !second.ticket.claim) throw new Error('template: t2 not claimed');
  token = second.ticket.claim.token;
  await writeFile(join(base, 'out.json'), JSON.stringify(OUTPUT));
});

afterAll(async () => {
  restoreEnv();
  await removeDir(base);
});

function submitArgs(): string[] {
  return ['submit', 'crash', t2, '--worker', 'w1', '--token', token, '--output', join(base, 'out.json')];
}

async function copyTemplate(name: string): Promise<string> {
  const root = join(base, name);
  await cp(template, root, { recursive: true });
  return root;
}

/** Every invariant of the finished submit, checked on one copy of the run. */
async function expectSubmittedOnce(root: string, label: string): Promise<void> {
  const ctx = await openRun(root, 'crash', { durability: 'none' });
  const report = await fsckRun(ctx);
  expect(report.problems, `${label}: fsck problems`).toEqual([]);
  expect(report.ok).toBe(true);
  const all = await listTickets(ctx);
  const ids = all.map((t) => t.ticket_id);
  expect(new Set(ids).size, `${label}: a ticket is in two places`).toBe(ids.length);
  const curateIds = NOUNS.map((key) => childTicketId({ to: 'curate', parentId: t2, key })).sort();
  expect(all.filter((t) => t.stage === 'curate').map((t) => t.ticket_id).sort(), `${label}: curate children`).toEqual(curateIds);
  expect(all.filter((t) => t.stage === 'translate').map((t) => `${t.state}:${t.ticket_id}`).sort()).toEqual([`completed:${t1}`, `completed:${t2}`].sort());
  let registered = 0;
  for (const s of await ls(ctx.paths.registry)) registered += (await ls(join(ctx.paths.registry, s))).length;
  expect(registered, `${label}: registry entries`).toBe(5);
  const view = await showTicket(ctx, t2);
  expect(view.ticket.output_data).toEqual(OUTPUT);
  expect(view.ticket.history.filter((h) => h.event === 'submitted')).toHaveLength(1);
  expect(view.cascade?.children.slice().sort(), `${label}: cascade marker`).toEqual(curateIds);
  const hex = await showTicket(ctx, childTicketId({ to: 'curate', parentId: t2, key: 'Hexagone' }));
  expect(hex.requested_by).toEqual([t1, t2].sort());
  expect((await readCascadeMarker(ctx, t1))?.children).toHaveLength(1);
  expect(await ls(ctx.paths.moving), `${label}: moving/ left over`).toEqual([]);
}

/** After a crash: re-run the same submit and `tq fsck --repair --settle 0` (in either order). */
async function recover(root: string, resubmitFirst: boolean, label: string): Promise<void> {
  const fsck = async (): Promise<void> => {
    const r = await runTq(root, ['fsck', 'crash', '--repair', '--settle', '0']);
    expect(r.code, `${label}: fsck --repair\n${r.stdout}${r.stderr}`).toBe(0);
  };
  if (!resubmitFirst) await fsck();
  const again = await runTq(root, submitArgs());
  // A re-run submit finishes its own crashed move (after a short patience) instead of
  // reporting a lost lease.
  expect(again.code, `${label}: re-submit\n${again.stdout}${again.stderr}`).toBe(0);
  if (resubmitFirst) await fsck();
  const last = await runTq(root, submitArgs());
  expect(last.code, `${label}: final submit\n${last.stderr}`).toBe(0);
  expect(last.stdout, label).toMatch(/^already submitted/);
}

describe('crash midway through `tq submit` (strace SIGKILL injection)', () => {
  it('N = 1.. for every rename, link, unlink and write: recovery leaves each ticket exactly once, cascaded once', async () => {
    const t0 = performance.now();
    // A traced pass on a copy tells how many calls of each kind the submit makes.
    const probe = await copyTemplate('probe');
    const { result, calls } = await runTraced(probe, submitArgs(), { traceFile: join(base, 'probe.trace') });
    expect(result.code, result.stderr).toBe(0);
    await expectSubmittedOnce(probe, 'uninterrupted');
    const counts = countCalls(calls);
    for (const kind of KINDS) expect(counts[kind], `the submit makes no ${kind} call?`).toBeGreaterThan(0);

    let copies = 0;
    const { runs, crashed, dataWrites } = await crashAtEveryStep(calls, submitArgs(), {
      copy: () => copyTemplate(`copy-${(copies += 1)}`),
      recover: (root, n, label) => recover(root, n % 2 === 1, label),
      check: expectSubmittedOnce,
      wakeupSample: WAKEUP_SAMPLE,
    });
    console.log(
      `crash-midway submit: ${runs} runs, ${runs - KINDS.length} crashes (rename ${crashed.rename}/${counts.rename}, link ${crashed.link}/${counts.link}, ` +
        `unlink ${crashed.unlink}/${counts.unlink}, write ${crashed.write}/${counts.write}: all ${dataWrites} file-data writes + every ${WAKEUP_SAMPLE}th wake-up), ` +
        `each recovered with every ticket exactly once; ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  });
});
