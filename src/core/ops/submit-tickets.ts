import { TqError, isTqError } from '../model/errors.js';
import { mapLimit } from '../store/run-pool.js';
import type { RunCtx } from '../store/run-context.js';
import { submitTicket, type SubmitOptions, type SubmitResult } from './submit-ticket.js';

/** How many submits of one batch run at once (each waits for its moves, and in a durable run shares their fsyncs). */
const SUBMIT_CONCURRENCY = 16;

/** What became of one submission of a batch: its result, or the error a lone submitTicket would have thrown. */
export type BatchSubmitOutcome = { ok: true; ticketId: string; result: SubmitResult } | { ok: false; ticketId: string; error: TqError };

/**
 * Submit many claimed tickets in one call. Each submission is exactly a submitTicket: fenced on
 * its own (a lost lease refuses that one only, its output kept in rejected/), cascaded as
 * usual. Outcomes come back in the order of `submissions`, one per submission; nothing throws
 * for a refused or invalid submission. Two submissions of the same ticket run one after the
 * other (the second is then a repeat, or refused), never at once.
 */
export async function submitTickets(ctx: RunCtx, submissions: readonly SubmitOptions[]): Promise<BatchSubmitOutcome[]> {
  // Why: the same ticket twice in one batch must not race itself; later copies wait for the first.
  const byTicket = new Map<string, Promise<unknown>>();
  return mapLimit(submissions, SUBMIT_CONCURRENCY, async (s) => {
    const before = byTicket.get(s.ticketId) ?? Promise.resolve();
    const mine = before.then(() => submitOne(ctx, s));
    byTicket.set(s.ticketId, mine);
    return mine;
  });
}

async function submitOne(ctx: RunCtx, s: SubmitOptions): Promise<BatchSubmitOutcome> {
  try {
    return { ok: true, ticketId: s.ticketId, result: await submitTicket(ctx, s) };
  } catch (err) {
    const error = isTqError(err) ? err : new TqError('IO_ERROR', `submitting ${s.ticketId}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    return { ok: false, ticketId: s.ticketId, error };
  }
}
