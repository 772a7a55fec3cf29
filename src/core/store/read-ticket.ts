import { basename } from 'node:path';
import { ioError } from '../model/errors.js';
import { checkTicketLocation, pathOfLocation, type TicketLocation } from './ticket-location.js';
import type { RunCtx } from './run-context.js';
import { ticketIdOfFileName } from './run-names.js';
import { parseTicket } from '../model/serialize-ticket.js';
import type { Ticket } from '../model/ticket-schema.js';

export async function readTicketAt(ctx: RunCtx, path: string): Promise<Ticket> {
  let text: string;
  try {
    text = await ctx.fs.readFile(path);
  } catch (err) {
    throw ioError(err, 'reading ticket', path);
  }
  return parseTicket(text, path);
}

/**
 * What is wrong when a ticket does not name itself (its ticket_id is not its file's name), or
 * undefined when it does. Why it matters: a file copied or renamed by hand is not the ticket its
 * name says; moving it under that name would make two tickets of one, or lose one.
 */
export function misnamedTicketProblem(ticket: Ticket, path: string): string | undefined {
  const name = basename(path);
  if (ticket.ticket_id === ticketIdOfFileName(name)) return undefined;
  return `${path}: field ticket_id is "${ticket.ticket_id}" but the file is named ${name}`;
}

/**
 * The ticket at a location, checked against it (see checkTicketLocation): CORRUPT_TICKET naming
 * the file and field when it does not parse or disagrees with where it is; IO_ERROR from the read.
 */
export async function readTicketAtLocation(ctx: RunCtx, loc: TicketLocation): Promise<{ ticket: Ticket; path: string }> {
  const path = pathOfLocation(ctx, loc);
  const ticket = await readTicketAt(ctx, path);
  checkTicketLocation(ticket, loc, path);
  return { ticket, path };
}
