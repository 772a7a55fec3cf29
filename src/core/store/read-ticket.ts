import { basename } from 'node:path';
import { TqError, errnoCode, ioError } from '../model/errors.js';
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
    throw ticketReadError(err, 'reading ticket', path);
  }
  return parseTicket(text, path);
}

/**
 * What an entry named like a ticket is when it cannot be one, from the error of reading it
 * (fs-layer.ts: never through a link, never a FIFO, socket, device or directory, never past
 * the size limit); undefined for any other error (ENOENT, EIO ...).
 */
export function notTicketFileProblem(err: unknown): string | undefined {
  switch (errnoCode(err)) {
    case 'ELOOP':
      return 'is a symbolic link';
    case 'EISDIR':
      return 'is a directory';
    case 'EFTYPE': {
      const type = (err as { fileType?: unknown }).fileType;
      return `is not a regular file (${typeof type === 'string' ? type : 'special file'})`;
    }
    case 'EFBIG':
      return 'is bigger than any ticket file ticketq writes';
    default:
      return undefined;
  }
}

/**
 * The error for a failed read of a ticket file: CORRUPT_TICKET (which callers quarantine) when
 * the entry cannot be a ticket at all (see notTicketFileProblem), else IO_ERROR.
 */
export function ticketReadError(err: unknown, action: string, path: string): TqError {
  const problem = notTicketFileProblem(err);
  if (problem === undefined) return ioError(err, action, path);
  return new TqError('CORRUPT_TICKET', `${path} ${problem}, not a ticket file: ticketq never reads one`, {
    file: path,
    hint: 'an agent or a stray process put it there; `tq fsck --repair` moves it to quarantine/',
    cause: err,
  });
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
