import { join } from 'node:path';
import { locateAll, locateTicket, type TicketLocation } from '../protocol/locate-ticket.js';
import { readTicketAt } from '../store/read-ticket.js';
import { readCascadeMarker, type CascadeMarker } from '../ops/cascade-ticket.js';
import type { RunCtx } from '../store/run-context.js';
import type { Ticket } from '../model/ticket-schema.js';
import type { RejectedOutput } from '../store/reject-output.js';
import { listDir, readIfExists } from '../store/atomic-write.js';
import { isRejectedFileOf, parseRequestedByFileName } from '../store/run-names.js';

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
}

export async function rejectedOutputsOf(ctx: RunCtx, ticketId: string): Promise<(RejectedOutput & { path: string })[]> {
  const out: (RejectedOutput & { path: string })[] = [];
  for (const name of (await listDir(ctx, ctx.paths.rejected)).sort()) {
    if (!isRejectedFileOf(name, ticketId)) continue;
    const path = join(ctx.paths.rejected, name);
    const text = await readIfExists(ctx, path);
    if (text === undefined) continue;
    try {
      out.push({ ...(JSON.parse(text) as RejectedOutput), path });
    } catch {
      // a damaged record is still listed by fsck
    }
  }
  return out;
}

export async function requestedByOf(ctx: RunCtx, ticket: Ticket): Promise<string[]> {
  const parents = new Set(ticket.lineage.parents);
  if (ticket.lineage.key !== undefined) {
    for (const name of await listDir(ctx, ctx.paths.requestedBy)) {
      const edge = parseRequestedByFileName(name);
      if (edge?.childId === ticket.ticket_id) parents.add(edge.parentId);
    }
  }
  return [...parents].sort();
}

/** A ticket with everything known about it: where it is, who asked for it, kept late outputs. */
export async function showTicket(ctx: RunCtx, rawId: string): Promise<TicketView> {
  const loc = await locateTicket(ctx, rawId);
  const ticket = await readTicketAt(ctx, loc.path);
  const all = await locateAll(ctx, loc.ticketId);
  const cascade = await readCascadeMarker(ctx, loc.ticketId);
  return {
    ticket,
    state: loc.state,
    path: loc.path,
    duplicates: all.filter((l) => l.path !== loc.path).map((l) => l.path),
    requested_by: await requestedByOf(ctx, ticket),
    ...(cascade ? { cascade } : {}),
    rejected_outputs: await rejectedOutputsOf(ctx, loc.ticketId),
  };
}
