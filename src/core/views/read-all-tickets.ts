import { listTickets, type ListFilter, type TicketEntry } from './list-tickets.js';
import { readTicketAt } from '../store/read-ticket.js';
import { mapLimit } from '../store/run-pool.js';
import type { RunCtx } from '../store/run-context.js';
import type { Ticket } from '../model/ticket-schema.js';

export interface LoadedTicket {
  entry: TicketEntry;
  ticket: Ticket;
}

/** How many ticket bodies are read at once (enough to hide latency, few enough for EMFILE). */
const READ_CONCURRENCY = 16;

/**
 * Every ticket of the run with its body. A file that moved or vanished between the listing and
 * the read is skipped: reports are snapshots, and the next one will see it in its new place.
 */
export async function readAllTickets(ctx: RunCtx, filter: ListFilter = {}): Promise<LoadedTicket[]> {
  const entries = await listTickets(ctx, filter);
  const loaded = await mapLimit(entries, READ_CONCURRENCY, async (entry) => {
    const ticket = await readTicketAt(ctx, entry.path).catch(() => undefined);
    return ticket ? { entry, ticket } : undefined;
  });
  return loaded.filter((l): l is LoadedTicket => l !== undefined);
}
