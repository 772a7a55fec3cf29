import { dirname, join } from 'node:path';
import { locateAll, locateTicket, type TicketLocation } from '../protocol/locate-ticket.js';
import { listDirForView } from './list-dir-for-view.js';
import { readTicketAt } from '../store/read-ticket.js';
import { readCascadeMarker, type CascadeMarker } from '../ops/cascade-ticket.js';
import { checkRealDir, type RunCtx } from '../store/run-context.js';
import type { Ticket } from '../model/ticket-schema.js';
import type { RejectedOutput } from '../store/reject-output.js';
import { readIfExists } from '../store/atomic-write.js';
import { attemptOfLogFileName, isRejectedFileOf, parseRequestedByFileName } from '../store/run-names.js';

export interface TicketView {
  ticket: Ticket;
  state: TicketLocation['state'];
  path: string;
  /** Other copies of the id (should be none; fsck explains and repairs). */
  duplicates: string[];
  /** Every parent that asked for this ticket (de-duplicated fan-out). */
  requested_by: string[];
  cascade?: CascadeMarker;
  rejected_outputs: (RejectedOutput & { path: string })[];
  /** logs/<id>.<attempt>.log: the stderr of each attempt `tq work` ran, oldest attempt first. */
  logs: string[];
}

export async function rejectedOutputsOf(ctx: RunCtx, ticketId: string): Promise<(RejectedOutput & { path: string })[]> {
  const out: (RejectedOutput & { path: string })[] = [];
  for (const name of (await listDirForView(ctx, ctx.paths.rejected)).sort()) {
    if (!isRejectedFileOf(name, ticketId)) continue;
    const path = join(ctx.paths.rejected, name);
    try {
      const text = await readIfExists(ctx, path);
      if (text === undefined) continue;
      out.push({ ...(JSON.parse(text) as RejectedOutput), path });
    } catch {
      // One bad entry (damaged JSON, a FIFO or a link named like a record) is skipped: fsck lists it.
    }
  }
  return out;
}

/** The attempt logs of a ticket in logs/, by attempt (a re-run of an attempt after its first run). */
export async function attemptLogsOf(ctx: RunCtx, ticketId: string): Promise<string[]> {
  const logs: { name: string; attempt: number }[] = [];
  for (const name of await listDirForView(ctx, ctx.paths.logs)) {
    const attempt = attemptOfLogFileName(name, ticketId);
    if (attempt !== undefined) logs.push({ name, attempt });
  }
  logs.sort((a, b) => a.attempt - b.attempt || a.name.length - b.name.length || (a.name < b.name ? -1 : 1));
  return logs.map((l) => join(ctx.paths.logs, l.name));
}

export async function requestedByOf(ctx: RunCtx, ticket: Ticket): Promise<string[]> {
  const parents = new Set(ticket.lineage.parents);
  if (ticket.lineage.key !== undefined) {
    for (const name of await listDirForView(ctx, ctx.paths.requestedBy)) {
      const edge = parseRequestedByFileName(name);
      if (edge?.childId === ticket.ticket_id) parents.add(edge.parentId);
    }
  }
  return [...parents].sort();
}

/**
 * The first of a ticket's locations that holds a ticket. Why not just the first: an entry named
 * like the ticket may be a FIFO, a link or a directory (never read: CORRUPT_TICKET), or sit in
 * a directory that is a link out of the run (UNSAFE_PATH); a real copy elsewhere is still shown.
 * When none does, the first location's error says why.
 */
async function readFirstTicket(ctx: RunCtx, locs: TicketLocation[]): Promise<{ loc: TicketLocation; ticket: Ticket }> {
  let firstError: unknown;
  for (const loc of locs) {
    try {
      await checkRealDir(ctx, dirname(loc.path));
      return { loc, ticket: await readTicketAt(ctx, loc.path) };
    } catch (err) {
      firstError ??= err;
    }
  }
  throw firstError;
}

/** A ticket with everything known about it: where it is, who asked for it, kept late outputs. */
export async function showTicket(ctx: RunCtx, rawId: string): Promise<TicketView> {
  const first = await locateTicket(ctx, rawId);
  const all = await locateAll(ctx, first.ticketId);
  const { loc, ticket } = await readFirstTicket(ctx, all.length > 0 ? all : [first]);
  const cascade = await readCascadeMarker(ctx, loc.ticketId);
  return {
    ticket,
    state: loc.state,
    path: loc.path,
    duplicates: all.filter((l) => l.path !== loc.path).map((l) => l.path),
    requested_by: await requestedByOf(ctx, ticket),
    ...(cascade ? { cascade } : {}),
    rejected_outputs: await rejectedOutputsOf(ctx, loc.ticketId),
    logs: await attemptLogsOf(ctx, loc.ticketId),
  };
}
