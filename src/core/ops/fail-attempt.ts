import { TqError, errnoCode, isTqError } from '../model/errors.js';
import { roundNotBefore } from '../model/lanes.js';
import { maxAttemptsOf, retryDelayMs } from '../model/pipeline.js';
import { withHistory } from '../model/serialize-ticket.js';
import { TicketState } from '../model/states.js';
import type { AttemptError, Ticket } from '../model/ticket-schema.js';
import { readTicketAtLocation } from '../store/read-ticket.js';
import type { RunCtx } from '../store/run-context.js';
import { heldLocation, refusalError, tryMoveHeldTicket, type HeldLocation } from './worker-moves.js';

export interface FailAttemptOptions {
  workerId: string;
  /** The claim token; when given, a report from an older claim of the same worker is refused. */
  token?: string;
  /** What went wrong (kept at most MAX_ERROR_CHARS, from its start). */
  error: string;
  /** The end of the command's stderr (kept at most MAX_STDERR_TAIL_CHARS, from its end). */
  stderrTail?: string;
  /** When the attempt failed; default: the run's clock. */
  now?: Date;
}

export type FailAttemptResult =
  /** Back in pending/ with `attempts` failed attempts; claimable from `not_before` (now, when the stage has no retry policy). */
  | { outcome: 'retrying'; not_before: string; attempts: number; ticket: Ticket; path: string }
  /** The last attempt failed: the ticket is in failed/ (`tq requeue` brings it back). */
  | { outcome: 'failed'; attempts: number; ticket: Ticket; path: string };

/** How many failed attempts a ticket keeps in attempt_errors (the newest). */
export const MAX_ATTEMPT_ERRORS = 5;
export const MAX_ERROR_CHARS = 2000;
export const MAX_STDERR_TAIL_CHARS = 4000;

/**
 * A worker reports that its attempt at a ticket it holds failed (`tq fail`, a command of `tq
 * work` that exited non-zero). Fenced like release: refused (LEASE_LOST, NOT_HOLDER, ALREADY_DONE)
 * unless the ticket is in claimed/<worker>/ under the worker's current claim. The ticket goes
 * back to pending/ with attempts + 1, the error in attempt_errors, and a not_before from the
 * stage's retry policy (it then waits in a delayed lane: model/lanes.ts); once attempts reach
 * the stage's max_attempts it goes to failed/ instead, with an error concern.
 */
export async function failAttempt(ctx: RunCtx, ticketId: string, opts: FailAttemptOptions): Promise<FailAttemptResult> {
  const loc = heldLocation(ticketId, opts.workerId);
  const error = opts.error.trim().slice(0, MAX_ERROR_CHARS);
  if (error === '') throw new TqError('USAGE', 'a failed attempt needs an error message', { field: 'error', hint: 'say what went wrong, e.g. --error "exit 1: model timed out"' });
  const now = opts.now ?? ctx.clock.now();
  // Why read first: whether this was the last attempt decides where the move goes. The move is
  // fenced on the token read here, so the ticket cannot change hands between read and move.
  const current = await readHeld(ctx, loc);
  const attempts = (current?.attempts ?? 0) + 1;
  const max = maxAttemptsOf(ctx.config.pipeline, loc.stage);
  const last = attempts >= max;
  const delayMs = last ? 0 : retryDelayMs(ctx.config.pipeline, loc.stage, attempts);
  const notBefore = delayMs > 0 ? roundNotBefore(now.getTime(), delayMs) : undefined;
  const entry: AttemptError = {
    at: now.toISOString(),
    attempt: attempts,
    worker_id: loc.worker,
    error,
    ...(opts.stderrTail ? { stderr_tail: opts.stderrTail.slice(-MAX_STDERR_TAIL_CHARS) } : {}),
  };
  const note = `attempt ${attempts} of ${max} failed: ${firstLine(error)}${notBefore ? `; retried from ${notBefore}` : ''}`;
  const token = opts.token ?? current?.claim?.token;
  const moved = await tryMoveHeldTicket(ctx, loc, token, { state: last ? TicketState.failed : TicketState.pending }, (t) => {
    if (!t.claim) throw new TqError('WRONG_STATE', `${t.ticket_id} has no claim record yet`, { field: 'claim' });
    if (t.attempts + 1 !== attempts) throw new TqError('WRONG_STATE', `${t.ticket_id} changed while its failure was being recorded; report it again`, { field: 'attempts' });
    const base = { ...t, attempts, attempt_errors: [...(t.attempt_errors ?? []), entry].slice(-MAX_ATTEMPT_ERRORS) };
    const history = withHistory(t, { at: entry.at, event: 'attempt failed', from: 'claimed', to: last ? 'failed' : 'pending', worker_id: loc.worker, note });
    if (last) {
      const concern = { level: 'error' as const, message: `failed after ${attempts} attempts: ${firstLine(error)}`, suggestion: 'requeue with `tq requeue` once the cause is fixed', worker_id: loc.worker, at: entry.at };
      return { ...base, status: 'failed', completed_at: entry.at, worker_concerns: [...t.worker_concerns, concern], history };
    }
    return { ...base, status: 'pending', claim: null, not_before: notBefore, history };
  });
  if (moved.moved) {
    const { ticket, path } = moved;
    return last ? { outcome: 'failed', attempts, ticket, path } : { outcome: 'retrying', not_before: notBefore ?? entry.at, attempts, ticket, path };
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

function firstLine(text: string): string {
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
