import type { WorkSummary } from './worker-types.js';

/** The nearest-rank percentile `p` (0..100) of sorted values, or null when there are none. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

/** Counts of what a worker did, and how long its handler ran each time. */
export class WorkTally {
  done = 0;
  needsReview = 0;
  failed = 0;
  retried = 0;
  leaseLost = 0;
  released = 0;
  private readonly durations: number[] = [];

  timed(ms: number | undefined): void {
    if (ms !== undefined) this.durations.push(Math.round(ms));
  }

  summary(workerId: string, stage: string): WorkSummary {
    const sorted = [...this.durations].sort((a, b) => a - b);
    return {
      worker_id: workerId,
      stage,
      done: this.done,
      needs_review: this.needsReview,
      failed: this.failed,
      retried: this.retried,
      lease_lost: this.leaseLost,
      released: this.released,
      attempts_timed: sorted.length,
      median_ms: percentile(sorted, 50),
      p95_ms: percentile(sorted, 95),
    };
  }
}
