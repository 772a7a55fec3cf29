import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectRunStats, submittedAtOf, tokensOf } from '../../../src/core/views/run-stats.js';
import { makeObservedRun } from '../../helpers/observed-run.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';

let root: string;
beforeEach(async () => {
  root = await makeTempDir('tq-stats-');
});
afterEach(async () => {
  await removeDir(root);
});

describe('collectRunStats', () => {
  it('sums tokens, cost, time, claims, reaps and concerns per stage, per worker and in total', async () => {
    const run = await makeObservedRun(root);
    const s = await collectRunStats(run.ctx);
    expect(Object.keys(s.stages)).toEqual(['parse', 'translate', 'curate']);

    const parse = s.stages.parse!;
    expect(parse.states).toEqual({ pending: 1, claimed: 0, completed: 2, failed: 0, needs_review: 0 });
    expect(parse).toMatchObject({ submitted: 2, completed: 2, input_tokens: 2000, output_tokens: 800, total_tokens: 2800, cost_usd: 0.02, work_ms: 130_000 });
    // held: p0 00:00 -> 00:01:30, p1 00:14:30 -> 00:15:30; span: first claim 00:00 -> last submit 00:15:30
    expect(parse).toMatchObject({ held_ms: 150_000, span_ms: 930_000, completed_per_hour: 7.74 });
    expect(parse).toMatchObject({ claims: 3, attempts: 1, reaps: 1, concerns: { info: 1, review: 1, error: 0 } });
    expect(parse).toMatchObject({ rejected_outputs: 1, wasted_tokens: 800, models: { haiku: 2 } });

    const translate = s.stages.translate!;
    expect(translate).toMatchObject({ submitted: 2, input_tokens: 4000, output_tokens: 3000, total_tokens: 12_000, cost_usd: 0.12, work_ms: 280_000, held_ms: 300_000, span_ms: 1_020_000 });
    expect(translate).toMatchObject({ claims: 2, reaps: 0, concerns: { info: 0, review: 0, error: 1 }, models: { sonnet: 2 } });

    const curate = s.stages.curate!;
    expect(curate.states).toMatchObject({ pending: 1, claimed: 1 });
    expect(curate).toMatchObject({ submitted: 0, total_tokens: 0, claims: 1, span_ms: null, completed_per_hour: null });

    expect(s.totals).toMatchObject({ submitted: 4, completed: 4, total_tokens: 14_800, cost_usd: 0.14, claims: 6, reaps: 1, rejected_outputs: 1, wasted_tokens: 800 });
    expect(s.totals).toMatchObject({ span_ms: 1_110_000, completed_per_hour: 12.97, concerns: { info: 1, review: 1, error: 1 } });
  });

  it('attributes work, reaps and refused outputs to the worker that did them', async () => {
    const run = await makeObservedRun(root);
    const { workers } = await collectRunStats(run.ctx);
    expect(Object.keys(workers)).toEqual(['w-cur', 'w-parse', 'w-slow', 'w-tr']);
    expect(workers['w-parse']).toMatchObject({ submitted: 2, claims: 2, reaps: 0, total_tokens: 2800, held_ms: 150_000, concerns: { review: 1 } });
    expect(workers['w-slow']).toMatchObject({ submitted: 0, claims: 1, reaps: 1, rejected_outputs: 1, wasted_tokens: 800, concerns: { info: 1 } });
    expect(workers['w-tr']).toMatchObject({ submitted: 2, total_tokens: 12_000, cost_usd: 0.12, concerns: { error: 1 } });
    expect(workers['w-cur']).toMatchObject({ submitted: 0, claims: 1 });
  });

  it('counts a ticket the reaper failed as failed, with no submitter', async () => {
    const { makeRun, addItems } = await import('../../helpers/make-run.js');
    const { claimTicket } = await import('../../../src/core/ops/claim-ticket.js');
    const { reapExpired } = await import('../../../src/core/ops/reap-claims.js');
    const run = await makeRun(root, 'r', { stages: { a: { lease: '1m', max_attempts: 1 } } });
    await addItems(run.ctx, 'a', [{ x: 1 }]);
    await claimTicket(run.ctx, { stage: 'a', workerId: 'w1' });
    run.clock.advance(120_000);
    await reapExpired(run.ctx);
    const s = await collectRunStats(run.ctx);
    expect(s.stages.a).toMatchObject({ failed: 1, submitted: 0, reaps: 1, concerns: { error: 1 } });
    expect(s.workers.w1).toMatchObject({ reaps: 1, submitted: 0 });
  });
});

describe('helpers', () => {
  it('tokensOf prefers total_tokens and falls back to input + output', () => {
    expect(tokensOf({ input_tokens: 3, output_tokens: 4 })).toEqual({ input: 3, output: 4, total: 7 });
    expect(tokensOf({ input_tokens: 3, output_tokens: 4, total_tokens: 10 }).total).toBe(10);
    expect(tokensOf(null)).toEqual({ input: 0, output: 0, total: 0 });
  });

  it('submittedAtOf uses the submit event, not an approval that rewrote completed_at', async () => {
    const { makeRun, addItems } = await import('../../helpers/make-run.js');
    const { claimTicket } = await import('../../../src/core/ops/claim-ticket.js');
    const { submitTicket } = await import('../../../src/core/ops/submit-ticket.js');
    const { approveTicket } = await import('../../../src/core/ops/review-moves.js');
    const run = await makeRun(root, 'r2', { stages: { a: {} } });
    const [id] = (await addItems(run.ctx, 'a', [{ x: 1 }])) as [string];
    await claimTicket(run.ctx, { stage: 'a', workerId: 'w1' });
    run.clock.advance(1000);
    await submitTicket(run.ctx, { ticketId: id, workerId: 'w1', output: {}, status: 'needs_review' });
    run.clock.advance(3_600_000);
    const approved = await approveTicket(run.ctx, id);
    expect(submittedAtOf(approved.ticket)).toBe('2030-01-01T00:00:01.000Z');
    const s = await collectRunStats(run.ctx);
    expect(s.stages.a).toMatchObject({ completed: 1, held_ms: 1000 });
  });
});
