import { describe, expect, it } from 'vitest';
import { IdleBackoff, MIN_POLL_MS } from '../../src/worker/idle-wait.js';
import { RETRY_AFTER_MS, retryAfterMs } from '../../src/daemon/retry-after.js';

/** A seeded PRNG (mulberry32): the same "random" numbers on every run of the test. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * When each of `workers` idle claimers polls during the first `spanMs`, all started at the same
 * moment, each waiting backoff.next() between polls. Returns the most polls that fall into any
 * one window of `windowMs`, after the first `skipMs` (the start itself is in lockstep by construction).
 */
function busiestWindow(workers: number, maxMs: number, random: () => number, spanMs: number, skipMs: number, windowMs: number): number {
  const counts = new Map<number, number>();
  for (let w = 0; w < workers; w += 1) {
    const backoff = new IdleBackoff(maxMs, random);
    for (let t = backoff.next(); t < spanMs; t += backoff.next()) {
      if (t < skipMs) continue;
      const slot = Math.floor(t / windowMs);
      counts.set(slot, (counts.get(slot) ?? 0) + 1);
    }
  }
  return Math.max(...counts.values());
}

describe('IdleBackoff (idle claimers of tq work)', () => {
  it('doubles from MIN_POLL_MS up to the poll interval, each wait spread by ±25%, and starts over on reset', () => {
    const lows = new IdleBackoff(1000, () => 0);
    expect([1, 2, 3, 4, 5, 6, 7].map(() => lows.next())).toEqual([38, 75, 150, 300, 600, 750, 750]);
    const highs = new IdleBackoff(1000, () => 0.999999);
    expect([1, 2, 3, 4, 5, 6].map(() => highs.next())).toEqual([62, 125, 250, 500, 1000, 1250]);
    highs.reset();
    expect(highs.next()).toBe(62);
    expect(new IdleBackoff(10, () => 0.5).next()).toBe(Math.min(MIN_POLL_MS, 10));
  });

  it('spreads the waits at the poll interval evenly over ±25% (seeded random source)', () => {
    const backoff = new IdleBackoff(1000, seeded(1));
    for (let i = 0; i < 10; i += 1) backoff.next();
    const bins = new Array<number>(10).fill(0);
    for (let i = 0; i < 10_000; i += 1) {
      const ms = backoff.next();
      expect(ms).toBeGreaterThanOrEqual(750);
      expect(ms).toBeLessThanOrEqual(1250);
      const bin = Math.min(9, Math.floor((ms - 750) / 50));
      bins[bin] = (bins[bin] ?? 0) + 1;
    }
    // Uniform: each tenth of the range holds about 1,000 of the 10,000 waits.
    for (const n of bins) expect(n).toBeGreaterThan(850);
    for (const n of bins) expect(n).toBeLessThan(1150);
  });

  it('1,000 idle workers started together do not poll in lockstep: within seconds, no 50 ms window has more than a few percent of them', () => {
    const spread = busiestWindow(1000, 1000, seeded(7), 30_000, 5_000, 50);
    // Even spread: 1,000 workers polling about once a second put ~50 polls in each 50 ms window.
    expect(spread).toBeLessThan(90);
    // Without jitter every worker polls at the same instants: all 1,000 in one window.
    expect(busiestWindow(1000, 1000, () => 0.5, 30_000, 5_000, 50)).toBe(1000);
  });
});

describe('retry_after_ms of a file-only agent\'s empty or paused reply', () => {
  it('spreads RETRY_AFTER_MS over ±50%, evenly (seeded random source)', () => {
    expect(retryAfterMs(() => 0)).toBe(RETRY_AFTER_MS / 2);
    expect(retryAfterMs(() => 0.999999)).toBe(Math.round(RETRY_AFTER_MS * 1.499999));
    const random = seeded(3);
    const bins = new Array<number>(4).fill(0);
    for (let i = 0; i < 4000; i += 1) {
      const bin = Math.min(3, Math.floor((retryAfterMs(random) - RETRY_AFTER_MS / 2) / (RETRY_AFTER_MS / 4)));
      bins[bin] = (bins[bin] ?? 0) + 1;
    }
    for (const n of bins) expect(n).toBeGreaterThan(900);
  });
});
