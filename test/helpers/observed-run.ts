import { claimTicket } from '../../src/core/ops/claim-ticket.js';
import { submitTicket } from '../../src/core/ops/submit-ticket.js';
import { reapExpired } from '../../src/core/ops/reap-claims.js';
import { isTqError } from '../../src/core/model/errors.js';
import { addItems, makeRun, type TestRun } from './make-run.js';

export interface ObservedRun extends TestRun {
  parse: [string, string, string];
  translate: [string, string];
  curateHexagone: string;
  curateLutece: string;
}

/** Claim the only pending ticket of a stage and check it is the expected one (no randomness). */
async function claimOnly(run: TestRun, stage: string, worker: string, expect: (id: string) => boolean, lease?: string): Promise<string> {
  const c = await claimTicket(run.ctx, { stage, workerId: worker, ...(lease ? { lease } : {}) });
  if (!c || !expect(c.ticket.ticket_id)) throw new Error(`fixture: claimed ${c?.ticket.ticket_id ?? 'nothing'} from ${stage}`);
  return c.ticket.ticket_id;
}

/**
 * A small run with everything the operator views show, on a fixed clock (T0 = 2030-01-01T00:00Z).
 * Only one ticket of a stage is ever pending when claimed, so every figure is deterministic.
 *
 *   00:00:00  w-parse claims parse p0; 00:01:30 submits (haiku 1000+500, $0.01, 80 s)  -> translate t0
 *   00:01:30  w-tr claims t0; 00:03:30 submits (sonnet total 5000, $0.05, 110 s; noun Hexagone) -> curate Hexagone
 *   00:03:30  w-cur claims curate Hexagone with a 1h lease (still held at the end)
 *   00:03:30  p1 added; w-slow claims it, its 10m lease runs out; 00:14:30 reaped; its late submit
 *             is refused (rejected/, 800 tokens wasted, an info concern)
 *   00:14:30  w-parse claims p1; 00:15:30 submits (haiku 1000+300, $0.01, 50 s, a review concern) -> t1
 *   00:15:30  w-tr claims t1; 00:18:30 submits (sonnet 4000+3000=7000, $0.07, 170 s, an error
 *             concern; nouns Hexagone (de-duplicated: a second parent) and Lutèce)
 *   00:18:30  p2 added (pending)
 */
export async function makeObservedRun(root: string): Promise<ObservedRun> {
  const run = await makeRun(root, 'gallia');
  const { ctx, clock } = run;
  const [p0] = (await addItems(ctx, 'parse', [{ id: 'walk-1', node_ids: ['0x01', '0x02'] }])) as [string];
  await claimOnly(run, 'parse', 'w-parse', (id) => id === p0);
  clock.advance(90_000);
  await submitTicket(ctx, { ticketId: p0, workerId: 'w-parse', output: { walk: 1 }, usage: { input_tokens: 1000, output_tokens: 500, cost_usd: 0.01, model: 'haiku', duration_ms: 80_000 } });

  const t0 = `translate-${p0.slice('parse-'.length)}`;
  await claimOnly(run, 'translate', 'w-tr', (id) => id === t0);
  clock.advance(120_000);
  await submitTicket(ctx, { ticketId: t0, workerId: 'w-tr', output: { new_nouns: [{ noun: 'Hexagone', node_ids: ['0x01'] }] }, usage: { total_tokens: 5000, cost_usd: 0.05, model: 'sonnet', duration_ms: 110_000 } });
  const curateHexagone = await claimOnly(run, 'curate', 'w-cur', (id) => id.startsWith('curate-k-hexagone-'), '1h');

  const [p1] = (await addItems(ctx, 'parse', [{ id: 'walk-2', node_ids: ['0x03'] }])) as [string];
  await claimOnly(run, 'parse', 'w-slow', (id) => id === p1);
  clock.advance(11 * 60_000);
  const reaped = await reapExpired(ctx);
  if (reaped.length !== 1 || reaped[0]?.ticket_id !== p1) throw new Error(`fixture: expected one reap of ${p1}, got ${JSON.stringify(reaped)}`);
  try {
    await submitTicket(ctx, { ticketId: p1, workerId: 'w-slow', output: { late: true }, usage: { input_tokens: 600, output_tokens: 200, model: 'haiku' }, concerns: [{ level: 'info', message: 'finished late' }] });
    throw new Error('fixture: the late submit was accepted');
  } catch (err) {
    if (!isTqError(err, 'LEASE_LOST')) throw err;
  }
  await claimOnly(run, 'parse', 'w-parse', (id) => id === p1);
  clock.advance(60_000);
  await submitTicket(ctx, {
    ticketId: p1,
    workerId: 'w-parse',
    output: { walk: 2 },
    usage: { input_tokens: 1000, output_tokens: 300, cost_usd: 0.01, model: 'haiku', duration_ms: 50_000 },
    concerns: [{ level: 'review', message: 'speaker unclear at 0x03', suggestion: 'check node 0x03' }],
  });

  const t1 = `translate-${p1.slice('parse-'.length)}`;
  await claimOnly(run, 'translate', 'w-tr', (id) => id === t1);
  clock.advance(180_000);
  await submitTicket(ctx, {
    ticketId: t1,
    workerId: 'w-tr',
    output: { new_nouns: [{ noun: 'Hexagone', node_ids: ['0x03'] }, { noun: 'Lutèce' }] },
    usage: { input_tokens: 4000, output_tokens: 3000, total_tokens: 7000, cost_usd: 0.07, model: 'sonnet', duration_ms: 170_000 },
    concerns: [{ level: 'error', message: 'idiom "in triplicate" kept literally' }],
  });
  const curateLutece = `curate-k-lutece-${(await import('../../src/core/model/ids.js')).shortHash('Lutèce')}`;
  const [p2] = (await addItems(ctx, 'parse', [{ id: 'walk-3', node_ids: ['0x04'] }])) as [string];
  return { ...run, parse: [p0, p1, p2], translate: [t0, t1], curateHexagone, curateLutece };
}
