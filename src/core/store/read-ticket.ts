import { basename } from 'node:path';
import { TqError, ioError } from '../model/errors.js';
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

/** CORRUPT_TICKET unless the ticket at `path` names itself (see misnamedTicketProblem). */
export function checkTicketNamesItself(ticket: Ticket, path: string): void {
  const problem = misnamedTicketProblem(ticket, path);
  if (problem !== undefined) throw new TqError('CORRUPT_TICKET', problem, { file: path, field: 'ticket_id' });
}
