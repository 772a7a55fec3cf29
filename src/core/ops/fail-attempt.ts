import { TqError, errnoCode, isTqError } from '../model/errors.js';
import { roundNotBefore } from '../model/lanes.js';
import { maxAttemptsOf, retryDelayMs } from '../model/pipeline.js';
import { withHistory } from '../model/serialize-ticket.js';
import { TicketState } from '../model/states.js';
import type { FailedAttempt, Ticket } from '../model/ticket-schema.js';
import { readTicketAtLocation } from '../store/read-ticket.js';
import type { RunCtx } from '../store/run-context.js';
import { heldLocation, refusalError, tryMoveHeldTicket, type HeldLocation } from './worker-moves.js';

export interface FailAttemptOptions {
  workerId: string;
  /** The claim token; when given, a report from an older claim of the same worker is refused. */
  token?: string;
  /** What went wrong, e.g. "exit code 2", "timed out after 30s" (kept at most MAX_ERROR_CHARS, from its start). */
  error: string;
  /** The end of the program's stderr (see stderrTailOf). */
  stderrTail?: string;
  /** When the attempt failed; default: the run's clock. */
  now?: Date;
}

/** Attempts used so far (this one included) and the stage's max_attempts; the ticket as moved and where. */
interface FailAttemptCommon {
  attempts: number;
  maxAttempts: number;
  ticket: Ticket;
  path: string;
}

export type FailAttemptResult =
  /** Back in pending/; claimable from `not_before` (now, when the stage has no retry policy). */
  | ({ outcome: 'retrying'; not_before: string } & FailAttemptCommon)
  /** It used its last attempt: the ticket is in failed/ (`tq requeue` brings it back). */
  | ({ outcome: 'failed' } & FailAttemptCommon);

/** How many failed attempts a ticket keeps in attempt_errors (the newest). */
export const MAX_ATTEMPT_ERRORS = 5;
export const MAX_ERROR_CHARS = 2000;
export const MAX_STDERR_TAIL_CHARS = 4000;

/**
 * A worker reports that its attempt at a ticket it holds failed (`tq fail`; a program of `tq
 * work` that exited non-zero, printed no output, timed out; a Worker handler that threw). The
 * attempt counts, as an expired claim does. Fenced like release: refused (LEASE_LOST,
 * NOT_HOLDER, ALREADY_DONE) unless the ticket is in claimed/<worker>/ under the worker's
 * current claim. The ticket goes
 * back to pending/ with attempts + 1, the error in attempt_errors, and a not_before from the
 * stage's retry policy (it then waits in a delayed lane: model/lanes.ts); once attempts reach
 * the stage's max_attempts it goes to failed/ instead, with an error concern.
 */
export async function failAttempt(ctx: RunCtx, ticketId: string, opts: FailAttemptOptions): Promise<FailAttemptResult> {
  const loc = heldLocation(ticketId, opts.workerId);
  // Why not refuse an empty one: a Worker handler may throw an error without a message, and
  // its attempt failed all the same.
  const error = clip(opts.error, MAX_ERROR_CHARS) || 'failed (no error message)';
  const now = opts.now ?? ctx.clock.now();
  // Why read first: whether this was the last attempt decides where the move goes. The move is
  // fenced on the token read here, so the ticket cannot change hands between read and move.
  const current = await readHeld(ctx, loc);
  const attempts = (current?.attempts ?? 0) + 1;
  const max = maxAttemptsOf(ctx.config.pipeline, loc.stage);
  const last = attempts >= max;
  const delayMs = last ? 0 : retryDelayMs(ctx.config.pipeline, loc.stage, attempts);
  const notBefore = delayMs > 0 ? roundNotBefore(now.getTime(), delayMs) : undefined;
  const entry: FailedAttempt = {
    at: now.toISOString(),
    attempt: attempts,
    worker_id: loc.worker,
    error,
    ...(stderrTailOf(opts.stderrTail) ? { stderr_tail: stderrTailOf(opts.stderrTail) } : {}),
  };
  const note = `attempt ${attempts} of ${max} failed: ${firstLine(error)}${notBefore ? `; retried from ${notBefore}` : ''}`;
  const token = opts.token ?? current?.claim?.token;
  const moved = await tryMoveHeldTicket(ctx, loc, token, { state: last ? TicketState.failed : TicketState.pending }, (t) => {
    if (!t.claim) throw new TqError('WRONG_STATE', `${t.ticket_id} has no claim record yet`, { field: 'claim' });
    if (t.attempts + 1 !== attempts) throw new TqError('WRONG_STATE', `${t.ticket_id} changed while its failure was being recorded; report it again`, { field: 'attempts' });
    const base = { ...t, attempts, attempt_errors: [...(t.attempt_errors ?? []), entry].slice(-MAX_ATTEMPT_ERRORS) };
    const history = withHistory(t, { at: entry.at, event: 'attempt failed', from: 'claimed', to: last ? 'failed' : 'pending', worker_id: loc.worker, note });
    if (last) {
      const concern = { level: 'error' as const, message: `gave up after ${attempts} attempts; the last one failed: ${firstLine(error)}`, suggestion: 'see its attempt_errors and logs (`tq show`), then `tq requeue` once the cause is fixed', worker_id: loc.worker, at: entry.at };
      return { ...base, status: 'failed', completed_at: entry.at, worker_concerns: [...t.worker_concerns, concern], history };
    }
    return { ...base, status: 'pending', claim: null, not_before: notBefore, history };
  });
  if (moved.moved) {
    const common = { attempts, maxAttempts: max, ticket: moved.ticket, path: moved.path };
    return last ? { outcome: 'failed', ...common } : { outcome: 'retrying', not_before: notBefore ?? entry.at, ...common };
  }
  throw await refusalError(ctx, {
    action: 'fail',
    loc,
    ...(opts.token ? { token: opts.token } : {}),
    ...(moved.duplicate ? { duplicate: moved.duplicate } : {}),
    ...(moved.setAside ? { setAside: moved.setAside } : {}),
  });
}

/** The held ticket as it is now; undefined when it is not there or not readable (the move then explains why). */
async function readHeld(ctx: RunCtx, loc: HeldLocation): Promise<Ticket | undefined> {
  try {
    return (await readTicketAtLocation(ctx, loc)).ticket;
  } catch (err) {
    if (isTqError(err, 'CORRUPT_TICKET') || (isTqError(err, 'IO_ERROR') && errnoCode(err.cause) === 'ENOENT')) return undefined;
    throw err;
  }
}

function clip(text: string, max: number): string {
  const t = text.trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

/**
 * What a ticket keeps of a stderr tail: its last MAX_STDERR_TAIL_CHARS characters, from the
 * start of a line when one is near (the whole stderr is in logs/); undefined when blank.
 */
export function stderrTailOf(stderrTail: string | undefined): string | undefined {
  const tail = (stderrTail ?? '').trimEnd();
  if (tail === '') return undefined;
  if (tail.length <= MAX_STDERR_TAIL_CHARS) return tail;
  const kept = tail.slice(-MAX_STDERR_TAIL_CHARS);
  const nl = kept.indexOf('\n');
  return nl >= 0 && nl < 200 ? kept.slice(nl + 1) : kept;
}

function firstLine(text: string): string {
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
