import { describe, expect, it } from 'vitest';
import { painter, renderTopFrame, renderTopLine } from '../../../src/cli/render/render-top.js';
import type { RunSnapshot, StageProgress } from '../../../src/core/views/run-snapshot.js';

function stage(name: string, p: Partial<StageProgress>): StageProgress {
  return { stage: name, total: 10, completed: 0, needs_review: 0, failed: 0, pending: 0, claimed: 0, recent_completed: 0, per_hour: null, eta_ms: null, ...p };
}

function snapshot(stages: StageProgress[]): RunSnapshot {
  return { run_id: 'gallia', at: '2030-01-01T00:00:00.000Z', window_ms: 600_000, stages, claims: [], stalled: 0, concern_counts: { info: 0, review: 0, error: 0 }, recent_concerns: [], in_flight: 0, rejected_outputs: 0, quarantined: 0 };
}

describe('tq top: RATE', () => {
  // A finished stage still has completions in the window, so per_hour is known and sinking.
  const done = stage('parse', { completed: 9, failed: 1, recent_completed: 3, per_hour: 18 });
  const busy = stage('translate', { completed: 4, pending: 5, claimed: 1, recent_completed: 4, per_hour: 24, eta_ms: 900_000 });

  it('shows a rate while a stage has work left, and none once it is done (it would only sink)', () => {
    const frame = renderTopFrame(snapshot([done, busy]), painter(false), 1, 2000);
    const row = (name: string): string => frame.split('\n').find((l) => l.startsWith(name)) as string;
    expect(row('translate')).toMatch(/\s0\.4\/min\s+15m\b/);
    expect(row('parse')).toContain('0 claimed');
    expect(row('parse')).toMatch(/\s-\s+done\b/);
    expect(row('parse')).not.toContain('/min');
  });

  it('the piped one-line form leaves the rate of a finished stage out too', () => {
    const line = renderTopLine(snapshot([done, busy]));
    expect(line).toContain('| parse 9/10 | translate 4/10 (1 active) 0.4/min eta 15m |');
  });
});
