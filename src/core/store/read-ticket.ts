import { ioError } from '../model/errors.js';
import type { RunCtx } from './run-context.js';
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
