import { z } from 'zod';
import { CONCERN_LEVELS, ALL_STATES, type TicketState } from './states.js';
import { PRIORITY_MAX, PRIORITY_MIN } from './lanes.js';

/** The schema version written into run.json and --json output. */
export const SCHEMA_VERSION = 1;

const isoTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), { message: 'must be an ISO-8601 date-time' });

export const JsonObject = z.record(z.string(), z.unknown());
export type JsonObject = z.infer<typeof JsonObject>;

export const Concern = z.strictObject({
  level: z.enum(CONCERN_LEVELS),
  message: z.string().min(1).max(10_000),
  suggestion: z.string().max(10_000).optional(),
  worker_id: z.string().optional(),
  at: isoTime.optional(),
});
export type Concern = z.infer<typeof Concern>;

export const Usage = z.strictObject({
  input_tokens: z.number().int().nonnegative().optional(),
  output_tokens: z.number().int().nonnegative().optional(),
  total_tokens: z.number().int().nonnegative().optional(),
  cost_usd: z.number().nonnegative().optional(),
  model: z.string().max(200).optional(),
  duration_ms: z.number().nonnegative().optional(),
});
export type Usage = z.infer<typeof Usage>;

export const Claim = z.object({
  worker_id: z.string(),
  claimed_at: isoTime,
  lease_expires_at: isoTime,
  token: z.string(),
});
export type Claim = z.infer<typeof Claim>;

export const Lineage = z.object({
  parents: z.array(z.string()),
  root_id: z.string(),
  source_refs: z.array(z.string()),
  /** The dedupe key value that made this ticket, for keyed fan-out children. */
  key: z.string().optional(),
});
export type Lineage = z.infer<typeof Lineage>;

export const HistoryEntry = z.object({
  at: isoTime,
  event: z.string(),
  from: z.string().optional(),
  to: z.string().optional(),
  worker_id: z.string().optional(),
  note: z.string().optional(),
});
export type HistoryEntry = z.infer<typeof HistoryEntry>;

/** One failed attempt, as the worker reported it (`tq fail`, a worker's failed command). */
export const FailedAttempt = z.object({
  at: isoTime,
  /** Which attempt failed (1 for the first). */
  attempt: z.number().int().positive(),
  worker_id: z.string(),
  error: z.string(),
  /** The end of the command's stderr, when there was one. */
  stderr_tail: z.string().optional(),
});
export type FailedAttempt = z.infer<typeof FailedAttempt>;

export const TicketStatus = z.enum(ALL_STATES as [TicketState, ...TicketState[]]);

export const Ticket = z.object({
  ticket_id: z.string(),
  run_id: z.string(),
  worker_type: z.string(),
  status: TicketStatus,
  input_data: JsonObject,
  output_data: JsonObject.nullable(),
  worker_concerns: z.array(Concern),
  usage: Usage.nullable(),
  attempts: z.number().int().nonnegative(),
  claim_count: z.number().int().nonnegative(),
  claim: Claim.nullable(),
  /** Claimed before lower priorities (default 0; absent when 0). */
  priority: z.number().int().min(PRIORITY_MIN).max(PRIORITY_MAX).optional(),
  /** A pending ticket is not claimed before this time (a delay, or a retry's backoff); absent when it may be claimed now. */
  not_before: isoTime.optional(),
  /** The newest failed attempts with their errors (at most MAX_ATTEMPT_ERRORS). */
  attempt_errors: z.array(FailedAttempt).optional(),
  lineage: Lineage,
  /**
   * What makes the input item of a ticket added by `tq add`/`tq create --input` the same item
   * (model/item-key.ts): adding it again adds nothing. Absent on cascaded children.
   */
  item_key: z.string().optional(),
  created_at: isoTime,
  completed_at: isoTime.nullable(),
  history: z.array(HistoryEntry),
});
export type Ticket = z.infer<typeof Ticket>;

/** How many history entries a ticket keeps (oldest dropped first). */
export const HISTORY_LIMIT = 20;

/** Field order on disk: stable so that git diffs of a ticket stay small. */
export const TICKET_KEY_ORDER = Object.keys(Ticket.shape) as (keyof Ticket)[];
