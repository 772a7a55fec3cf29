import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../../src/core/model/duration.js';
import { isTqError } from '../../../src/core/model/errors.js';

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['10m', 600_000],
    ['1h30m', 5_400_000],
    ['500ms', 500],
    ['2d', 172_800_000],
    ['1.5s', 1500],
    [' 15m ', 900_000],
    ['30', 30_000],
    [45, 45_000],
    [0.25, 250],
  ] as const)('%j -> %d ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each(['', 'abc', '10x', '-5s', '0s', '1h 30m', 'm', '10m5', NaN, -1, 0, Infinity])('refuses %j with USAGE naming the field', (input) => {
    try {
      parseDuration(input as string | number, 'stages.parse.lease');
      throw new Error('accepted');
    } catch (err) {
      expect(isTqError(err, 'USAGE')).toBe(true);
      expect(isTqError(err) && err.field).toBe('stages.parse.lease');
      expect((err as Error).message).toContain('stages.parse.lease');
    }
  });
});

describe('formatDuration', () => {
  it('prints the largest units', () => {
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(3_600_000)).toBe('1h');
    expect(formatDuration(90_000)).toBe('1m30s');
    expect(formatDuration(4_000)).toBe('4s');
    expect(formatDuration(-60_000)).toBe('-1m');
  });
});
