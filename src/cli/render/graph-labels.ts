import type { GraphNode } from '../../core/views/run-graph.js';

/**
 * A node's short name in a drawing: its stage and what it is about (its dedupe key, or its first
 * source ref and how many more), e.g. "translate walk-7 +2". Why not the ticket id: ids are long
 * and alike, so a chart of them is unreadable; the id is the node's tooltip instead.
 */
export function shortLabel(n: GraphNode): string {
  if (n.key !== undefined) return `${n.stage} ${n.key}`;
  const [first, ...more] = n.source_refs;
  if (first !== undefined) return `${n.stage} ${first}${more.length > 0 ? ` +${more.length}` : ''}`;
  // Why the id's last part: a ticket with no refs still needs a name that tells it from its neighbours.
  return `${n.stage} ${n.id.slice(n.id.lastIndexOf('-') + 1)}`;
}
