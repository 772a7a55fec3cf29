import { join } from 'node:path';
import { TqError } from '../model/errors.js';
import { isHandMoved } from '../model/ticket-history.js';
import { TicketState } from '../model/states.js';
import { checkTicketLocation, locationOfRelPath, pathOfLocation, stateLocation, type TicketLocation } from '../store/ticket-location.js';
import { z } from 'zod';
import { birthTicket } from '../protocol/birth-ticket.js';
import { planChildren } from './plan-children.js';
import { rulesFrom } from '../model/pipeline.js';
import type { RunCtx } from '../store/run-context.js';
import type { Ticket } from '../model/ticket-schema.js';
import { readIfExists, writeFileAtomic } from '../store/atomic-write.js';
import { requestedByFileName, ticketFileName } from '../store/run-names.js';

export const CascadeMarker = z.object({
  parent_id: z.string(),
  children: z.array(z.string()),
  created: z.array(z.string()),
  deduplicated: z.array(z.string()),
  problems: z.array(z.string()),
  cascaded_at: z.string(),
});
export type CascadeMarker = z.infer<typeof CascadeMarker>;

export function cascadeMarkerPath(ctx: RunCtx, parentId: string): string {
  // Why the parent's ticket file name: the daemon reads a marker's name as its parent's id.
  return join(ctx.paths.cascadeDone, ticketFileName(parentId));
}

export function requestedByPath(ctx: RunCtx, childId: string, parentId: string): string {
  return join(ctx.paths.requestedBy, requestedByFileName(childId, parentId));
}

export async function readCascadeMarker(ctx: RunCtx, parentId: string): Promise<CascadeMarker | undefined> {
  const text = await readIfExists(ctx, cascadeMarkerPath(ctx, parentId));
  if (text === undefined) return undefined;
  try {
    return CascadeMarker.parse(JSON.parse(text));
  } catch {
    // Why: a damaged marker only means "cascade again", which is idempotent.
    return undefined;
  }
}

/**
 * Create the children of a completed ticket, exactly once however often this runs (submit,
 * the daemon, fsck --repair, after any crash). Children have deterministic ids and are born
 * through the registry (O_EXCL), so a repeat creates nothing. The parent is marked cascaded
 * last: until the marker exists, someone will run this again. Refused (see checkCascadable) for
 * a parent that disagrees with its file (`file`, the parent's path, when it was read from one)
 * or that was never submitted.
 */
export async function cascadeTicket(ctx: RunCtx, parent: Ticket, file?: string): Promise<CascadeMarker | undefined> {
  if (rulesFrom(ctx.config.pipeline, parent.worker_type).length === 0) return undefined;
  checkCascadable(ctx, parent, file);
  const done = await readCascadeMarker(ctx, parent.ticket_id);
  if (done) return done;
  const plan = planChildren(ctx.config.pipeline, parent, ctx.clock.now(), ctx.runId);
  const created: string[] = [];
  const deduplicated: string[] = [];
  for (const child of plan.children) {
    const outcome = await birthTicket(ctx, child.ticket);
    if (outcome === 'created') created.push(child.ticket.ticket_id);
    else deduplicated.push(child.ticket.ticket_id);
    if (child.key !== undefined) {
      // Why: a de-duplicated child records every parent that asked for it (one small file per
      // edge, so concurrent parents never rewrite a shared file).
      const edge = { child_id: child.ticket.ticket_id, parent_id: parent.ticket_id, key: child.key, at: ctx.clock.now().toISOString() };
      await writeFileAtomic(ctx, requestedByPath(ctx, child.ticket.ticket_id, parent.ticket_id), `${JSON.stringify(edge, null, 2)}\n`);
    }
  }
  const marker: CascadeMarker = {
    parent_id: parent.ticket_id,
    children: plan.children.map((c) => c.ticket.ticket_id),
    created,
    deduplicated,
    problems: plan.problems,
    cascaded_at: ctx.clock.now().toISOString(),
  };
  // RACE: written last, after every child exists; two cascaders write equivalent markers.
  await writeFileAtomic(ctx, cascadeMarkerPath(ctx, parent.ticket_id), `${JSON.stringify(marker, null, 2)}\n`);
  return marker;
}

/**
 * Refuse to cascade a parent that is not a finished ticket of the queue: CORRUPT_TICKET when
 * its content disagrees with where it is (`file`, its path: the location comes from the path;
 * without it, from the ticket's own id, for a ticket the caller has just built or checked),
 * WRONG_STATE when it never moved into completed/ through the queue (model/ticket-history.ts isHandMoved). The daemon logs the error, fsck
 * reports the ticket.
 */
export function checkCascadable(ctx: RunCtx, parent: Ticket, file?: string): void {
  const loc = file === undefined ? stateLocation(TicketState.completed, parent.ticket_id) : completedLocationOf(ctx, file);
  const where = file ?? pathOfLocation(ctx, loc);
  checkTicketLocation(parent, loc, where);
  if (isHandMoved(parent, TicketState.completed)) {
    throw new TqError('WRONG_STATE', `${where}: ticket ${loc.ticketId} is in completed/ but was never submitted (its history has no submit; moved there by hand?): not cascaded`, {
      file: where,
      field: 'history',
      hint: `\`tq fsck --repair ${ctx.runId}\` requeues it; or claim and submit it properly`,
    });
  }
}

/** The location of a file in completed/<stage>/ of this run, from its path; CORRUPT_TICKET for any other path. */
function completedLocationOf(ctx: RunCtx, file: string): TicketLocation {
  const prefix = `${ctx.paths.dir}/`;
  const loc = file.startsWith(prefix) ? locationOfRelPath(file.slice(prefix.length)) : undefined;
  if (loc?.state !== TicketState.completed) throw new TqError('CORRUPT_TICKET', `${file} is not a ticket file in completed/<stage>/ of run ${ctx.runId}: not cascaded`, { file });
  return loc;
}
