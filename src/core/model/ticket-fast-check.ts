import { ALL_STATES, CONCERN_LEVELS } from './states.js';
import { PRIORITY_MAX, PRIORITY_MIN } from './lanes.js';
import type { Claim, Concern, FailedAttempt, HistoryEntry, JsonObject, Lineage, Ticket, Usage } from './ticket-schema.js';

/**
 * The Ticket schema (ticket-schema.ts) checked by hand, for the hot path: every ticket read from
 * a run (each claim and submit reads one) is validated, and zod's generic walk cost ~15–40 µs
 * per ticket in a lifecycle profile. This is a *subset* check: it returns exactly what
 * `Ticket.safeParse(raw).data` would (same fields, same key order, unknown keys of non-strict
 * objects stripped, records and arrays copied), or undefined whenever it is not sure; the caller
 * then asks zod, which decides and words the error. So no file passes here that zod refuses,
 * and every error message stays zod's (test/core/model/ticket-fast-check.test.ts compares them).
 */
export function fastCheckTicket(raw: unknown): Ticket | undefined {
  if (!isPlain(raw)) return undefined;
  const r = raw as Record<string, unknown>;
  const t = r as Partial<Record<keyof Ticket, unknown>>;
  if (typeof t.ticket_id !== 'string' || typeof t.run_id !== 'string' || typeof t.worker_type !== 'string') return undefined;
  if (typeof t.status !== 'string' || !STATES.has(t.status)) return undefined;
  const input = record(t.input_data);
  const output = t.output_data === null ? null : record(t.output_data);
  const concerns = arrayOf(t.worker_concerns, concern);
  const usage = t.usage === null ? null : usageOf(t.usage);
  if (input === undefined || output === undefined || concerns === undefined || usage === undefined) return undefined;
  if (!isNonNegInt(t.attempts) || !isNonNegInt(t.claim_count)) return undefined;
  const claim = t.claim === null ? null : claimOf(t.claim);
  const lineage = lineageOf(t.lineage);
  const history = arrayOf(t.history, historyEntry);
  if (claim === undefined || lineage === undefined || history === undefined) return undefined;
  if (!isIsoTime(t.created_at) || !(t.completed_at === null || isIsoTime(t.completed_at))) return undefined;
  // Optional fields: zod asks `key in raw`; JSON.parse never makes a property holding undefined.
  if ('priority' in r && !(isSafeInt(t.priority) && t.priority >= PRIORITY_MIN && t.priority <= PRIORITY_MAX)) return undefined;
  if ('not_before' in r && !isIsoTime(t.not_before)) return undefined;
  const attemptErrors = 'attempt_errors' in r ? arrayOf(t.attempt_errors, failedAttempt) : null;
  if (attemptErrors === undefined) return undefined;
  if ('item_key' in r && typeof t.item_key !== 'string') return undefined;
  // Why built field by field, in the schema's order: it is the object zod's parse returns.
  const out: Record<string, unknown> = {
    ticket_id: t.ticket_id,
    run_id: t.run_id,
    worker_type: t.worker_type,
    status: t.status,
    input_data: input,
    output_data: output,
    worker_concerns: concerns,
    usage,
    attempts: t.attempts,
    claim_count: t.claim_count,
    claim,
  };
  if ('priority' in r) out.priority = t.priority;
  if ('not_before' in r) out.not_before = t.not_before;
  if (attemptErrors !== null) out.attempt_errors = attemptErrors;
  out.lineage = lineage;
  if ('item_key' in r) out.item_key = t.item_key;
  out.created_at = t.created_at;
  out.completed_at = t.completed_at;
  out.history = history;
  return out as Ticket;
}

const STATES: ReadonlySet<string> = new Set(ALL_STATES);
const LEVELS: ReadonlySet<string> = new Set(CONCERN_LEVELS);
const CONCERN_KEYS: ReadonlySet<string> = new Set(['level', 'message', 'suggestion', 'worker_id', 'at']);
const USAGE_KEYS: ReadonlySet<string> = new Set(['input_tokens', 'output_tokens', 'total_tokens', 'cost_usd', 'model', 'duration_ms']);

/** What zod's object and record schemas take: an object, not null, not an array; and plain (JSON.parse makes only those). */
function isPlain(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function isSafeInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

function isNonNegInt(v: unknown): v is number {
  return isSafeInt(v) && v >= 0;
}

function isNonNegNumber(v: unknown): boolean {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

/** The schema's isoTime: a string Date.parse understands. */
function isIsoTime(v: unknown): v is string {
  return typeof v === 'string' && !Number.isNaN(Date.parse(v));
}

function isOptString(r: Record<string, unknown>, key: string): boolean {
  return !(key in r) || typeof r[key] === 'string';
}

/** z.record(z.string(), z.unknown()): a copy with every own enumerable key but `__proto__` (zod skips it). */
function record(v: unknown): JsonObject | undefined {
  if (!isPlain(v)) return undefined;
  const out: JsonObject = {};
  for (const key of Object.keys(v)) {
    // Why give up: zod skips the key, and an assignment here would set the copy's prototype.
    if (key === '__proto__') return undefined;
    out[key] = v[key];
  }
  return out;
}

/** z.array(item): a new array of the checked items; undefined when any is not sure. */
function arrayOf<T>(v: unknown, item: (x: unknown) => T | undefined): T[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: T[] = new Array<T>(v.length);
  for (let i = 0; i < v.length; i += 1) {
    const x = item(v[i]);
    if (x === undefined) return undefined;
    out[i] = x;
  }
  return out;
}

function stringArray(v: unknown): string[] | undefined {
  return arrayOf(v, (x) => (typeof x === 'string' ? x : undefined));
}

/** Copy the optional keys of `r` that are present, in the order given (the schema's). */
function withOptional<T extends object>(out: T, r: Record<string, unknown>, keys: readonly string[]): T {
  for (const key of keys) if (key in r) (out as Record<string, unknown>)[key] = r[key];
  return out;
}

/** Concern (strict: an unknown key is zod's to refuse). */
function concern(v: unknown): Concern | undefined {
  if (!isPlain(v)) return undefined;
  for (const key of Object.keys(v)) if (!CONCERN_KEYS.has(key)) return undefined;
  if (typeof v.level !== 'string' || !LEVELS.has(v.level)) return undefined;
  if (typeof v.message !== 'string' || v.message.length < 1 || v.message.length > 10_000) return undefined;
  if ('suggestion' in v && !(typeof v.suggestion === 'string' && v.suggestion.length <= 10_000)) return undefined;
  if (!isOptString(v, 'worker_id') || ('at' in v && !isIsoTime(v.at))) return undefined;
  return withOptional({ level: v.level, message: v.message } as Concern, v, ['suggestion', 'worker_id', 'at']);
}

/** Usage (strict). */
function usageOf(v: unknown): Usage | undefined {
  if (!isPlain(v)) return undefined;
  for (const key of Object.keys(v)) if (!USAGE_KEYS.has(key)) return undefined;
  for (const key of ['input_tokens', 'output_tokens', 'total_tokens']) if (key in v && !isNonNegInt(v[key])) return undefined;
  for (const key of ['cost_usd', 'duration_ms']) if (key in v && !isNonNegNumber(v[key])) return undefined;
  if (!isOptString(v, 'model') || (typeof v.model === 'string' && v.model.length > 200)) return undefined;
  return withOptional({} as Usage, v, ['input_tokens', 'output_tokens', 'total_tokens', 'cost_usd', 'model', 'duration_ms']);
}

function claimOf(v: unknown): Claim | undefined {
  if (!isPlain(v) || typeof v.worker_id !== 'string' || !isIsoTime(v.claimed_at) || !isIsoTime(v.lease_expires_at) || typeof v.token !== 'string') return undefined;
  return { worker_id: v.worker_id, claimed_at: v.claimed_at, lease_expires_at: v.lease_expires_at, token: v.token };
}

function lineageOf(v: unknown): Lineage | undefined {
  if (!isPlain(v) || typeof v.root_id !== 'string' || !isOptString(v, 'key')) return undefined;
  const parents = stringArray(v.parents);
  const refs = stringArray(v.source_refs);
  if (parents === undefined || refs === undefined) return undefined;
  return withOptional({ parents, root_id: v.root_id, source_refs: refs } as Lineage, v, ['key']);
}

function historyEntry(v: unknown): HistoryEntry | undefined {
  if (!isPlain(v) || !isIsoTime(v.at) || typeof v.event !== 'string') return undefined;
  if (!isOptString(v, 'from') || !isOptString(v, 'to') || !isOptString(v, 'worker_id') || !isOptString(v, 'note')) return undefined;
  return withOptional({ at: v.at, event: v.event } as HistoryEntry, v, ['from', 'to', 'worker_id', 'note']);
}

function failedAttempt(v: unknown): FailedAttempt | undefined {
  if (!isPlain(v) || !isIsoTime(v.at) || !isSafeInt(v.attempt) || v.attempt <= 0 || typeof v.worker_id !== 'string' || typeof v.error !== 'string') return undefined;
  if (!isOptString(v, 'stderr_tail')) return undefined;
  return withOptional({ at: v.at, attempt: v.attempt, worker_id: v.worker_id, error: v.error } as FailedAttempt, v, ['stderr_tail']);
}
