import type { RunCtx } from '../store/run-context.js';
import { retryWhileInFlight } from './locate-ticket.js';
import { recoverMoving } from './recover-moving.js';

/**
 * A worker's own operation on its ticket (`attempt`, undefined when the ticket was not there),
 * retried while someone else's move of the ticket is in flight (`retryWhileInFlight`). A move
 * still in flight after IN_FLIGHT_PATIENCE_MS lost its mover: it is finished or undone now
 * (only this ticket's entries), so that a worker re-running its submit after a crash gets its
 * answer instead of a spurious LEASE_LOST.
 */
export async function retryThroughMove<T>(ctx: RunCtx, ticketId: string, tries: number, attempt: () => Promise<T | undefined>): Promise<T | undefined> {
  return retryWhileInFlight(ctx, ticketId, tries, attempt, () => recoverMoving(ctx, 0, ticketId));
}
