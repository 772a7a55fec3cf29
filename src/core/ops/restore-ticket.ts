import { isInFlight, locateAll } from '../protocol/locate-ticket.js';
import { restoreFromRegistry } from '../protocol/restore-from-registry.js';
import { retryThroughMove } from '../protocol/retry-through-move.js';
import { quarantineFile } from '../store/quarantine.js';
import type { RunCtx } from '../store/run-context.js';
import type { TicketLocation } from '../store/ticket-location.js';

/**
 * A ticket file the queue cannot accept (its content disagrees with its location `loc`, it does
 * not parse, it is no regular file...): move `file` to quarantine/ with a .why.json saying
 * `reason` (name the file and field), then, if the ticket is now in no state directory and in
 * no move, put it back into pending/ from its birth record in registry/ (it will be done again).
 * Returns where the file went and where the ticket was restored to (each when it happened).
 * Called by every operation that meets such a file (submit, heartbeat, release, reap, claim) and
 * by the daemon.
 */
export async function quarantineAndRestore(ctx: RunCtx, loc: TicketLocation, file: string, reason: string): Promise<{ quarantined?: string; restored?: string }> {
  const quarantined = await quarantineFile(ctx, file, reason);
  // RACE: a copy elsewhere, or a move in flight, is the ticket: restoring would duplicate it. But
  // a move that read the file before it was spoiled may be in flight only to fail at its fence
  // (our quarantine took the file): wait for it to end (finishing one whose mover died), then
  // look again. Found by the torture suite's hostile worker: a ticket was lost this way.
  const elsewhere = await retryThroughMove(ctx, loc.ticketId, 100, async () => ((await locateAll(ctx, loc.ticketId)).length > 0 ? true : undefined));
  if (elsewhere === true || (await isInFlight(ctx, loc.ticketId))) return quarantined ? { quarantined } : {};
  const r = await restoreFromRegistry(ctx, loc.ticketId, { event: 'restored from registry', note: `its file was quarantined: ${reason.length > 500 ? `${reason.slice(0, 500)}…` : reason}` });
  return { ...(quarantined ? { quarantined } : {}), ...('restored' in r ? { restored: r.restored } : {}) };
}
