import { TqError, isTqError } from '../model/errors.js';
import { moveTicket, type DuplicateOutcome } from '../protocol/move-ticket.js';
import { locateTicket, type LocatedTicket } from '../protocol/locate-ticket.js';
import { readTicketAtLocation } from '../store/read-ticket.js';
import { checkCompletedOutput } from './submit-ticket.js';
import { cascadeTicket, type CascadeMarker } from './cascade-ticket.js';
import { withHistory } from '../model/serialize-ticket.js';
import type { RunCtx } from '../store/run-context.js';
import { TicketState } from '../model/states.js';
import type { Ticket } from '../model/ticket-schema.js';

/** needs_review -> completed, then cascade (an operator's approval). */
export async function approveTicket(ctx: RunCtx, rawId: string, note?: string): Promise<{ ticket: Ticket; path: string; cascade?: CascadeMarker }> {
  const loc = await locateTicket(ctx, rawId);
  if (loc.state !== 'needs_review') {
    throw new TqError('WRONG_STATE', `${loc.ticketId} is ${loc.state}, not needs_review: only tickets in needs_review can be approved`, {
      file: loc.path,
      hint: loc.state === 'completed' ? 'it is already completed' : `see it with \`tq show ${ctx.runId} ${loc.ticketId}\``,
    });
  }
  await checkApprovedOutput(ctx, loc);
  const now = ctx.clock.now().toISOString();
  const outcome = await moveTicket(ctx, loc.loc, {
    to: { state: TicketState.completed },
    build: (t) => ({ ...t, status: 'completed', completed_at: now, history: withHistory(t, { at: now, event: 'approved', from: 'needs_review', to: 'completed', ...(note ? { note } : {}) }) }),
  });
  if (!outcome.moved && outcome.reason === 'finished') throw alreadyFinished(loc.ticketId, outcome, 'approved');
  if (!outcome.moved) throw new TqError('WRONG_STATE', `${loc.ticketId} moved while being approved; try again`, { file: loc.path });
  const cascade = await cascadeTicket(ctx, outcome.ticket);
  return { ticket: outcome.ticket, path: outcome.path, ...(cascade ? { cascade } : {}) };
}

/**
 * An approved output cascades like a submitted one, so it must pass the same checks (the stage's
 * output_schema, its children's input_schema); a submit to needs_review skipped them. A ticket
 * that cannot be read here is left to the move, which reports it as it always has.
 * RACE: a hand edit between this read and the move is not seen; the move keeps what it reads.
 */
async function checkApprovedOutput(ctx: RunCtx, loc: LocatedTicket): Promise<void> {
  const held = await readTicketAtLocation(ctx, loc.loc).catch(() => undefined);
  if (!held) return;
  try {
    await checkCompletedOutput(ctx, held.ticket.worker_type, held.ticket.output_data ?? {}, held.path, '/output_data');
  } catch (err) {
    if (!isTqError(err, 'INVALID_INPUT')) throw err;
    const hint = `its output cannot go downstream as it is: requeue it (\`tq requeue ${ctx.runId} ${loc.ticketId}\`) for a new attempt`;
    throw new TqError('INVALID_INPUT', err.message, { file: held.path, field: 'output_data', hint, ...(err.data ? { data: err.data } : {}) });
  }
}

const REQUEUEABLE: readonly TicketState[] = ['failed', 'needs_review'];

/** failed|needs_review -> pending, with fresh attempts. */
export async function requeueTicket(ctx: RunCtx, rawId: string, note?: string): Promise<{ ticket: Ticket; path: string; from: TicketState }> {
  const loc = await locateTicket(ctx, rawId);
  if (!REQUEUEABLE.includes(loc.state)) {
    throw new TqError('WRONG_STATE', `${loc.ticketId} is ${loc.state}: only failed or needs_review tickets can be requeued`, {
      file: loc.path,
      hint: loc.state === 'claimed' ? 'a claimed ticket returns by itself when its lease expires, or by `tq release`' : undefined,
    });
  }
  const now = ctx.clock.now().toISOString();
  const outcome = await moveTicket(ctx, loc.loc, {
    to: { state: TicketState.pending },
    build: (t) => ({
      ...t,
      status: 'pending',
      claim: null,
      attempts: 0,
      // Why: an operator's requeue means now, whatever backoff the last failure had set.
      not_before: undefined,
      completed_at: null,
      history: withHistory(t, { at: now, event: 'requeued', from: loc.state, to: 'pending', ...(note ? { note } : {}) }),
    }),
  });
  if (!outcome.moved && outcome.reason === 'finished') throw alreadyFinished(loc.ticketId, outcome, 'requeued');
  if (!outcome.moved) throw new TqError('WRONG_STATE', `${loc.ticketId} moved while being requeued; try again`, { file: loc.path });
  return { ticket: outcome.ticket, path: outcome.path, from: loc.state };
}

/** The copy an operator acted on duplicated a finished ticket: it was set aside, nothing else changed. */
function alreadyFinished(id: string, d: DuplicateOutcome, action: string): TqError {
  return new TqError('ALREADY_DONE', `${id} was not ${action}: it is already ${d.state} (${d.existing}); the copy acted on was a duplicate${d.quarantined ? `, quarantined as ${d.quarantined}` : ''}`, {
    file: d.existing,
    hint: `see it with \`tq show\`; run \`tq fsck\` to check the run`,
  });
}
