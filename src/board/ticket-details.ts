import { basename } from 'node:path';
import type { RunCtx } from '../core/store/run-context.js';
import { showTicket, type TicketView } from '../core/views/show-ticket.js';
import { traceLineage, type LineageReport } from '../core/views/lineage.js';

/** The most of one attempt log the page shows (its start; the file names the rest). */
export const LOG_BYTES = 64 * 1024;

export interface AttemptLog {
  name: string;
  text: string;
  truncated: boolean;
}

export interface TicketDetails extends Omit<TicketView, 'logs'> {
  lineage: LineageReport;
  children: string[];
  logs: AttemptLog[];
}

/** Read a log the way every untrusted file is read: bounded, never through a link or a FIFO. */
async function readLog(ctx: RunCtx, path: string): Promise<AttemptLog> {
  const name = basename(path);
  try {
    const r = await ctx.fs.readUpTo(path, LOG_BYTES + 1);
    if (!r.isFile) return { name, text: '(not a regular file: not read)', truncated: false };
    return { name, text: r.bytes.subarray(0, LOG_BYTES).toString('utf8'), truncated: r.bytes.length > LOG_BYTES };
  } catch (err) {
    return { name, text: `(cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)})`, truncated: false };
  }
}

/** Everything `tq show` and `tq lineage` say about a ticket, plus its attempt logs' text. */
export async function ticketDetails(ctx: RunCtx, ticketId: string): Promise<TicketDetails> {
  const view = await showTicket(ctx, ticketId);
  const lineage = await traceLineage(ctx, ticketId);
  const logs = await Promise.all(view.logs.map((p) => readLog(ctx, p)));
  return { ...view, lineage, children: view.cascade?.children ?? [], logs };
}
