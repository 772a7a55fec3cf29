import { basename, dirname } from 'node:path';
import { TqError } from '../core/model/errors.js';
import type { RunCtx } from '../core/store/run-context.js';
import { approveTicket, requeueTicket } from '../core/ops/review-moves.js';
import { UNSTAMPED_GRACE_MS, reapOne } from '../core/ops/reap-claims.js';
import { showTicket } from '../core/views/show-ticket.js';
import type { BoardAction } from './board-routes.js';

const NOTE = 'from tq board';

/**
 * Release a stalled claim: the reap `tq reap` does, for this one ticket (back to pending with
 * attempts + 1, or failed after max_attempts). A live lease is not touched: reapOne leaves it.
 */
async function releaseStalled(ctx: RunCtx, ticketId: string): Promise<unknown> {
  const view = await showTicket(ctx, ticketId);
  if (view.state !== 'claimed') throw new TqError('WRONG_STATE', `${ticketId} is ${view.state}, not claimed`, { file: view.path });
  const worker = basename(dirname(view.path));
  // Why checked here too: reapOne also mends a claim (adopts an unstamped one, clamps a lease far
  // ahead); the board only releases what the overview calls stalled, a lease run out.
  const expires = Date.parse(view.ticket.claim?.lease_expires_at ?? '');
  if (!(expires <= ctx.clock.now().getTime())) {
    throw new TqError('WRONG_STATE', `${ticketId}: the lease of ${worker} has not expired; nothing released`, { file: view.path, field: 'claim.lease_expires_at' });
  }
  const action = await reapOne(ctx, view.path, worker, view.ticket.ticket_id, { unstampedGraceMs: UNSTAMPED_GRACE_MS });
  if (action === undefined) throw new TqError('WRONG_STATE', `${ticketId}: the lease of ${worker} has not expired; nothing released`, { file: view.path, field: 'claim.lease_expires_at' });
  return action;
}

/** An action of the page: the same library call the CLI's approve, requeue and reap make. */
export async function runBoardAction(ctx: RunCtx, action: BoardAction, ticketId: string): Promise<unknown> {
  if (action === 'approve') return approveTicket(ctx, ticketId, NOTE);
  if (action === 'requeue') return requeueTicket(ctx, ticketId, NOTE);
  return releaseStalled(ctx, ticketId);
}
