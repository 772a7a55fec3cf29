import { TqError } from '../model/errors.js';
import { parseDuration } from '../model/duration.js';
import { PRIORITY_MAX, PRIORITY_MIN, roundNotBefore } from '../model/lanes.js';
import type { JsonObject } from '../model/ticket-schema.js';

/** When and in which order the tickets of an add are claimed (`tq add --priority N --delay 10m`). */
export interface ScheduleOptions {
  /** Claimed before tickets of lower priority (default 0; integers from -1000 to 1000). */
  priority?: number;
  /** Not claimed before this long from now ("10m", or seconds). */
  delay?: string | number;
}

/** What a ticket is born with: its input, and its scheduling fields when it has any. */
export interface ScheduledItem {
  input: JsonObject;
  schedule: { priority?: number; not_before?: string };
}

/** The keys of a work item envelope: `{"input_data": {...}, "priority": 5, "not_before": "..."}`. */
const ENVELOPE_KEYS = new Set(['input_data', 'priority', 'not_before', 'delay']);

/**
 * A work item's input and scheduling. An item is an envelope when `input_data` is an object and
 * every other key is one of priority, not_before (an ISO time) or delay (a duration): then
 * input_data is the ticket's input and the rest overrides `defaults`. Any other item is the
 * input itself. Why an envelope and not reserved keys in the input: an input may well have a
 * field called `priority` of its own. A not_before is rounded up a little (model/lanes.ts
 * roundNotBefore); one that is already past means now.
 */
export function scheduleItem(item: JsonObject, where: string, defaults: ScheduleOptions, nowMs: number): ScheduledItem {
  const envelope = isEnvelope(item) ? item : undefined;
  const input = envelope ? (envelope.input_data as JsonObject) : item;
  const priority = envelope?.priority !== undefined ? checkPriority(envelope.priority, `${where}: field priority`) : defaults.priority !== undefined ? checkPriority(defaults.priority, 'priority') : undefined;
  let dueMs: number | undefined;
  if (envelope?.not_before !== undefined) dueMs = parseTime(envelope.not_before, `${where}: field not_before`);
  else {
    const delay = envelope?.delay ?? defaults.delay;
    if (delay !== undefined) dueMs = nowMs + parseDelay(delay, envelope?.delay !== undefined ? `${where}: field delay` : 'delay');
  }
  const schedule = {
    ...(priority !== undefined && priority !== 0 ? { priority } : {}),
    ...(dueMs !== undefined && dueMs > nowMs ? { not_before: roundNotBefore(nowMs, dueMs - nowMs) } : {}),
  };
  return { input, schedule };
}

function isEnvelope(item: JsonObject): boolean {
  const data = item.input_data;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return false;
  return Object.keys(item).every((k) => ENVELOPE_KEYS.has(k));
}

/** A priority from the command line or an item: an integer from PRIORITY_MIN to PRIORITY_MAX. */
export function checkPriority(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < PRIORITY_MIN || value > PRIORITY_MAX) {
    throw new TqError('INVALID_INPUT', `${field}: ${JSON.stringify(value)} is not a priority`, { field: 'priority', hint: `priorities are integers from ${PRIORITY_MIN} to ${PRIORITY_MAX} (higher is claimed first; default 0)` });
  }
  return value;
}

function parseTime(value: unknown, field: string): number {
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms)) throw new TqError('INVALID_INPUT', `${field}: ${JSON.stringify(value)} is not an ISO-8601 time`, { field: 'not_before', hint: 'write it like 2030-01-01T09:00:00Z' });
  return ms;
}

function parseDelay(value: unknown, field: string): number {
  if (typeof value !== 'string' && typeof value !== 'number') throw new TqError('INVALID_INPUT', `${field}: ${JSON.stringify(value)} is not a duration`, { field: 'delay', hint: 'write it like 90s, 10m or 1h30m' });
  return parseDuration(value, field);
}
