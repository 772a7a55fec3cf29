import { errnoCode, ioError, isTqError } from '../model/errors.js';
import { MAX_JSON_BYTES } from '../model/json-limits.js';
import { TicketState } from '../model/states.js';
import type { Ticket } from '../model/ticket-schema.js';
import { parseTicket, serializeTicket, withHistory } from '../model/serialize-ticket.js';
import { registryPath } from '../protocol/birth-ticket.js';
import { isInFlight, locateAll } from '../protocol/locate-ticket.js';
import { createFileExclusive } from '../store/atomic-write.js';
import { quarantineFile } from '../store/quarantine.js';
import type { RunCtx } from '../store/run-context.js';
import { pathOfLocation, stateLocation, type TicketLocation } from '../store/ticket-location.js';

/** A birth record holds the input item (at most MAX_JSON_BYTES) and the ticket's own fields. */
const MAX_REGISTRY_BYTES = 2 * MAX_JSON_BYTES;

/**
 * Quarantine a ticket file the queue cannot accept (`file`: its path, normally
 * pathOfLocation(ctx, loc); `reason` goes into its .why.json), then, when the ticket it stood
 * for is now in no state directory, put it back into pending/ from its birth record in
 * registry/ (it is done again). Returns where the file went and where the ticket was restored.
 * Why both in one step: a quarantine alone loses the ticket from every listing (fsck --repair
 * would restore it much later, if ever run).
 */
export async function quarantineAndRestore(ctx: RunCtx, loc: TicketLocation, file: string, reason: string): Promise<{ quarantined?: string; restored?: string }> {
  const quarantined = await quarantineFile(ctx, file, reason);
  const out: { quarantined?: string; restored?: string } = quarantined !== undefined ? { quarantined } : {};
  // RACE: a move of this ticket in flight (moving/) ends somewhere, or is recovered there;
  // restoring it too would make two copies.
  if ((await locateAll(ctx, loc.ticketId)).length > 0 || (await isInFlight(ctx, loc.ticketId))) return out;
  const born = await readBirthRecord(ctx, loc);
  if (born === undefined) return out;
  const restored: Ticket = {
    ...born,
    // Why: the content must agree with pending/, whatever the birth record was edited to say.
    status: TicketState.pending,
    claim: null,
    history: withHistory(born, { at: ctx.clock.now().toISOString(), event: 'restored', to: TicketState.pending, note: `from registry/: ${reason}` }),
  };
  const target = pathOfLocation(ctx, stateLocation(TicketState.pending, loc.ticketId));
  // RACE: created with link (no replace): a copy that reappeared meanwhile is never overwritten.
  return (await createFileExclusive(ctx, target, serializeTicket(restored))) ? { ...out, restored: target } : out;
}

/**
 * The birth record of the ticket at `loc`, or undefined when there is none that can be used:
 * missing, not a regular file (never opened blocking, never through a link), not a ticket, or
 * not the ticket its name says (fsck reports those).
 */
async function readBirthRecord(ctx: RunCtx, loc: TicketLocation): Promise<Ticket | undefined> {
  const reg = registryPath(ctx, loc.stage, loc.ticketId);
  let read;
  try {
    read = await ctx.fs.readUpTo(reg, MAX_REGISTRY_BYTES + 1);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return undefined;
    throw ioError(err, 'reading', reg);
  }
  if (!read.isFile || read.bytes.length > MAX_REGISTRY_BYTES) return undefined;
  let born: Ticket;
  try {
    born = parseTicket(read.bytes.toString('utf8'), reg);
  } catch (err) {
    if (isTqError(err, 'CORRUPT_TICKET')) return undefined;
    throw err;
  }
  return born.ticket_id === loc.ticketId && born.worker_type === loc.stage ? born : undefined;
}
