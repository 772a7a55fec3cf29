import { describe, expect, it } from 'vitest';
import { scheduleItem } from '../../../src/core/ops/work-item-schedule.js';
import { isTqError } from '../../../src/core/model/errors.js';

const NOW = Date.parse('2030-01-01T00:00:00Z');

describe('scheduleItem', () => {
  it('an item is its own input, scheduled by the defaults', () => {
    expect(scheduleItem({ id: 'a', priority: 'high' }, 'in:1', {}, NOW)).toEqual({ input: { id: 'a', priority: 'high' }, schedule: {} });
    expect(scheduleItem({ id: 'a' }, 'in:1', { priority: 2, delay: '90s' }, NOW)).toEqual({ input: { id: 'a' }, schedule: { priority: 2, not_before: '2030-01-01T00:01:30.000Z' } });
    expect(scheduleItem({ id: 'a' }, 'in:1', { priority: 0 }, NOW).schedule).toEqual({});
  });

  it('an envelope (input_data plus only priority, not_before, delay) overrides the defaults', () => {
    expect(scheduleItem({ input_data: { id: 'a' }, priority: -4 }, 'in:1', { priority: 2 }, NOW)).toEqual({ input: { id: 'a' }, schedule: { priority: -4 } });
    expect(scheduleItem({ input_data: { id: 'a' }, delay: '10m' }, 'in:1', { delay: '1h' }, NOW).schedule).toEqual({ not_before: '2030-01-01T00:10:00.000Z' });
    // not_before is rounded up a little (a twentieth of the wait at most) so that lanes stay few.
    expect(scheduleItem({ input_data: {}, not_before: '2030-01-01T00:59:59.500Z' }, 'in:1', {}, NOW).schedule).toEqual({ not_before: '2030-01-01T01:00:00.000Z' });
    expect(scheduleItem({ input_data: {}, not_before: '2029-01-01T00:00:00Z' }, 'in:1', { delay: '1h' }, NOW).schedule).toEqual({});
    // Not an envelope: input_data is not an object, or another key is there.
    expect(scheduleItem({ input_data: 'x', priority: 1 }, 'in:1', {}, NOW).input).toEqual({ input_data: 'x', priority: 1 });
    expect(scheduleItem({ input_data: {}, priority: 1, id: 'z' }, 'in:1', {}, NOW).schedule).toEqual({});
  });

  it('bad values name the item and the field', () => {
    const refused = (item: Record<string, unknown>, defaults = {}): string => {
      try {
        scheduleItem(item, 'walks.jsonl:7', defaults, NOW);
      } catch (err) {
        if (isTqError(err)) return `${err.code} ${err.message}`;
        throw err;
      }
      throw new Error('accepted');
    };
    expect(refused({ input_data: {}, priority: 'high' })).toMatch(/^INVALID_INPUT walks\.jsonl:7: field priority: "high" is not a priority/);
    expect(refused({ input_data: {}, priority: 1001 })).toMatch(/field priority/);
    expect(refused({ input_data: {}, not_before: 'tomorrow' })).toMatch(/^INVALID_INPUT walks\.jsonl:7: field not_before: "tomorrow" is not an ISO-8601 time/);
    expect(refused({ input_data: {}, delay: [] })).toMatch(/field delay/);
    expect(refused({ id: 1 }, { priority: 0.5 })).toMatch(/^INVALID_INPUT priority: 0.5 is not a priority/);
  });
});
