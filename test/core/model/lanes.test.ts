import { describe, expect, it } from 'vitest';
import { compareLanes, dueStamp, isLaneDue, laneNameOf, laneOfTicket, parseLaneName, roundNotBefore, type Lane } from '../../../src/core/model/lanes.js';

const at = (iso: string): number => Date.parse(iso);

describe('lane names', () => {
  it('round-trip a priority and a due time; priority 0 with no due time is the stage directory itself', () => {
    expect(laneNameOf(0)).toBeUndefined();
    expect(laneNameOf(5)).toBe('p5');
    expect(laneNameOf(-2)).toBe('p-2');
    expect(laneNameOf(0, at('2030-11-26T11:03:30Z'))).toBe('p0.due-20301126T110330Z');
    expect(parseLaneName('p5')).toEqual({ name: 'p5', priority: 5 });
    expect(parseLaneName('p-2')).toEqual({ name: 'p-2', priority: -2 });
    expect(parseLaneName('p7.due-20301126T110330Z')).toEqual({ name: 'p7.due-20301126T110330Z', priority: 7, dueMs: at('2030-11-26T11:03:30Z') });
  });

  it('refuses every other name: p0 alone, out of range, leading zeros, impossible dates, stray text', () => {
    for (const bad of ['p0', 'p1001', 'p-1001', 'p05', 'p-0', 'P5', 'p5.due-20301326T110330Z', 'p5.due-20301126T250000Z', 'p5.due-20301126T110330', 'p5x', 'lanes', '', 'p5.due-2030-11-26T11:03:30Z']) {
      expect(parseLaneName(bad), bad).toBeUndefined();
    }
    expect(parseLaneName('p1000')?.priority).toBe(1000);
    expect(parseLaneName('p-1000')?.priority).toBe(-1000);
  });

  it('a ticket lane comes from its priority and its not_before rounded up to the second', () => {
    expect(laneOfTicket({})).toBeUndefined();
    expect(laneOfTicket({ priority: 0 })).toBeUndefined();
    expect(laneOfTicket({ priority: 3 })).toBe('p3');
    expect(laneOfTicket({ not_before: '2030-01-01T00:00:00.001Z' })).toBe(`p0.due-${dueStamp(at('2030-01-01T00:00:01Z'))}`);
    expect(laneOfTicket({ priority: -1, not_before: '2030-01-01T00:00:05.000Z' })).toBe('p-1.due-20300101T000005Z');
  });
});

describe('claim order', () => {
  it('higher priority first; within one, due lanes by due time, then the undelayed lane', () => {
    const lanes: Lane[] = [
      { name: undefined, priority: 0 },
      { name: 'p-1', priority: -1 },
      { name: 'p0.due-b', priority: 0, dueMs: 2000 },
      { name: 'p5', priority: 5 },
      { name: 'p0.due-a', priority: 0, dueMs: 1000 },
      { name: 'p5.due-a', priority: 5, dueMs: 1000 },
    ];
    expect(lanes.sort(compareLanes).map((l) => l.name ?? '(stage)')).toEqual(['p5.due-a', 'p5', 'p0.due-a', 'p0.due-b', '(stage)', 'p-1']);
  });

  it('a lane is due from its due time on', () => {
    expect(isLaneDue({ name: 'p5', priority: 5 }, 0)).toBe(true);
    expect(isLaneDue({ name: 'x', priority: 0, dueMs: 1000 }, 999)).toBe(false);
    expect(isLaneDue({ name: 'x', priority: 0, dueMs: 1000 }, 1000)).toBe(true);
  });
});

describe('roundNotBefore', () => {
  it('never earlier than asked, at most a twentieth of the delay later, on a whole step', () => {
    const now = at('2030-01-01T00:00:00.250Z');
    for (const delay of [1, 999, 1000, 30_000, 61_000, 600_000, 3_600_000, 86_400_000, 30 * 86_400_000]) {
      const nb = Date.parse(roundNotBefore(now, delay));
      expect(nb, `delay ${delay}`).toBeGreaterThanOrEqual(now + delay);
      expect(nb - (now + delay), `delay ${delay}`).toBeLessThanOrEqual(Math.max(1000, delay / 20));
      expect(nb % 1000, `delay ${delay}`).toBe(0);
    }
    expect(roundNotBefore(now, 30_000)).toBe('2030-01-01T00:00:31.000Z');
    expect(roundNotBefore(now, 600_000)).toBe('2030-01-01T00:10:30.000Z');
  });
});
