import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRunWatcher } from '../../../src/core/views/run-snapshot.js';
import { join } from 'node:path';
import { stateLocation } from '../../../src/core/store/ticket-location.js';
import { moveTicket } from '../../../src/core/protocol/move-ticket.js';
import { reopen } from '../../helpers/make-run.js';
import { makeObservedRun } from '../../helpers/observed-run.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';
import { fixedClock } from '../../../src/core/model/clock.js';

let root: string;
beforeEach(async () => {
  root = await makeTempDir('tq-watch-');
});
afterEach(async () => {
  await removeDir(root);
});

describe('createRunWatcher', () => {
  it('reports progress, rate over the window, ETA, leases and recent concerns', async () => {
    const run = await makeObservedRun(root); // clock ends at 00:18:30
    const s = await createRunWatcher(run.ctx, { windowMs: 600_000 }).snapshot();
    expect(s.at).toBe('2030-01-01T00:18:30.000Z');
    const parse = s.stages.find((st) => st.stage === 'parse')!;
    // window 00:08:30-00:18:30 holds one parse completion (p1 at 00:15:30): 6/hour; 1 pending -> 10 min
    expect(parse).toMatchObject({ total: 3, completed: 2, pending: 1, recent_completed: 1, per_hour: 6, eta_ms: 600_000 });
    const curate = s.stages.find((st) => st.stage === 'curate')!;
    expect(curate).toMatchObject({ total: 2, completed: 0, claimed: 1, per_hour: null, eta_ms: null });
    expect(s.claims).toEqual([
      expect.objectContaining({ worker_id: 'w-cur', ticket_id: run.curateHexagone, lease_left_ms: 3_600_000 - 15 * 60_000, stalled: false }),
    ]);
    expect(s.stalled).toBe(0);
    expect(s.concern_counts).toEqual({ info: 0, review: 1, error: 1 });
    expect(s.recent_concerns.map((c) => c.level)).toEqual(['error', 'review']);
    expect(s.rejected_outputs).toBe(1);
  });

  it('a young run is measured from its first claim, not over the whole window', async () => {
    const run = await makeObservedRun(root);
    const s = await createRunWatcher(run.ctx, { windowMs: 24 * 3_600_000 }).snapshot();
    // translate: 2 completions since 00:01:30 (first claim), 17 min ago -> 7.06/hour
    expect(s.stages.find((st) => st.stage === 'translate')?.per_hour).toBe(7.06);
  });

  it('marks expired leases as stalled, and follows a ticket that leaves completed/', async () => {
    const run = await makeObservedRun(root);
    const later = fixedClock('2030-01-01T02:00:00.000Z');
    const ctx = await reopen(run.ctx, later);
    const watcher = createRunWatcher(ctx);
    const first = await watcher.snapshot();
    expect(first.stalled).toBe(1);
    expect(first.claims[0]).toMatchObject({ stalled: true, lease_left_ms: -(2 * 3_600_000 - 3.5 * 60_000 - 3_600_000) });
    expect(first.stages.find((st) => st.stage === 'parse')?.completed).toBe(2);
    // p1 moves completed -> needs_review: the watcher must drop its cached copy at the old path,
    // or its review concern would be counted twice.
    await moveTicket(ctx, stateLocation('completed', run.parse[1] as string), { to: { state: 'needs_review' }, build: (t) => ({ ...t, status: 'needs_review' }) });
    const second = await watcher.snapshot();
    expect(second.stages.find((st) => st.stage === 'parse')).toMatchObject({ completed: 1, needs_review: 1 });
    expect(second.concern_counts.review).toBe(1);
  });

  it('takes totals from the registry, so a ticket seen in two directories mid-move is counted once', async () => {
    const run = await makeObservedRun(root);
    const { copyFile } = await import('node:fs/promises');
    // As if a listing caught p0 both before and after a move.
    await copyFile(join(run.ctx.paths.dir, 'completed', 'parse', `${run.parse[0]}.json`), join(run.ctx.paths.dir, 'pending', 'parse', `${run.parse[0]}.json`));
    const s = await createRunWatcher(run.ctx).snapshot();
    expect(s.stages.find((st) => st.stage === 'parse')).toMatchObject({ total: 3, completed: 2, pending: 2 });
  });
});
