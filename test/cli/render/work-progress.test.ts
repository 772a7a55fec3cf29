import { describe, expect, it } from 'vitest';
import { summaryText } from '../../../src/cli/render/work-progress.js';

describe('tq work summary', () => {
  it('summaryText says what was done, with reviews, and when nothing ran', () => {
    const base = { worker_id: 'w', stage: 'parse', done: 3, needs_review: 1, failed: 0, retried: 1, lease_lost: 0, released: 2, attempts_timed: 4, median_ms: 1234, p95_ms: 61_000 };
    expect(summaryText(base, 'r')).toBe('worker w on r/parse: done 3 (1 to review), failed 0, retried 1, lease lost 0, released 2\ncommand time: median 1.2s, p95 1m1s over 4 attempt(s)');
    expect(summaryText({ ...base, done: 0, needs_review: 0, attempts_timed: 0, median_ms: null, p95_ms: null }, 'r')).toMatch(/: done 0, .*\ncommand time: no attempt ran$/);
  });
});
