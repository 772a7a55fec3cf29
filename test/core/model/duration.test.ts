import { describe, expect, it } from 'vitest';
import { MAX_DURATION_MS, formatDuration, parseDuration } from '../../../src/core/model/duration.js';
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

describe('parseDuration: zero, for waits that may be skipped', () => {
  it.each(['0', '0s', '0ms', 0])('%j is 0 with { zero: true }, refused without', (input) => {
    expect(parseDuration(input, 'settle', { zero: true })).toBe(0);
    expect(() => parseDuration(input, 'settle')).toThrow('settle: "0');
  });

  it('never a negative one', () => {
    expect(() => parseDuration(-1, 'settle', { zero: true })).toThrow('settle: "-1" is not a duration');
    expect(() => parseDuration('-1s', 'settle', { zero: true })).toThrow('is not a duration');
  });
});

describe('parseDuration: the 30d limit', () => {
  it('accepts up to 30d', () => {
    expect(parseDuration('30d')).toBe(MAX_DURATION_MS);
    expect(parseDuration('720h')).toBe(MAX_DURATION_MS);
    expect(parseDuration(30 * 86_400)).toBe(MAX_DURATION_MS);
  });

  it.each(['100000000000h', '30d1ms', '31d', `${'9'.repeat(400)}h`, 1e20, '1' + '0'.repeat(30)])('refuses %j with USAGE naming the field and the limit', (input) => {
    try {
      parseDuration(input, 'stages.parse.lease');
      throw new Error('accepted');
    } catch (err) {
      expect(isTqError(err, 'USAGE')).toBe(true);
      expect(isTqError(err) && err.field).toBe('stages.parse.lease');
      expect((err as Error).message).toMatch(/^stages\.parse\.lease "[^"]+" is (over the 30d limit|not a duration)$/);
    }
  });

  it('an over-long lease says so, quoting it', () => {
    expect(() => parseDuration('100000000000h', 'stages.parse.lease')).toThrow('stages.parse.lease "100000000000h" is over the 30d limit');
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
