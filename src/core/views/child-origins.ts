import { locateAll } from '../protocol/locate-ticket.js';
import { readTicketAt } from '../store/read-ticket.js';
import type { RunCtx } from '../store/run-context.js';

/** Where children that a cascade found already born came from. */
export interface ChildOrigins {
  /** Made for this parent by someone else first (the daemon, or fsck --repair): the same children. */
  sameParent: string[];
  /** Made earlier for another parent: a de-duplicated (keyed) child both asked for. */
  otherParent: string[];
}

/**
 * Sort the children a cascade did not create itself (its marker's `deduplicated`) by who asked
 * for them first, from each child's own lineage. Why: "already existed" read as a mistake when
 * the daemon had simply cascaded the ticket a moment before its submit did.
 */
export async function childOrigins(ctx: RunCtx, parentId: string, childIds: readonly string[]): Promise<ChildOrigins> {
  const out: ChildOrigins = { sameParent: [], otherParent: [] };
  for (const id of childIds) {
    const [copy] = await locateAll(ctx, id);
    const child = copy ? await readTicketAt(ctx, copy.path).catch(() => undefined) : undefined;
    // Why same parent when unreadable: ids of unkeyed children are derived from their parent.
    if (!child || child.lineage.parents.includes(parentId)) out.sameParent.push(id);
    else out.otherParent.push(id);
  }
  return out;
}
