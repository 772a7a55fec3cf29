import { listDirForView } from './list-dir-for-view.js';
import { parseRequestedByFileName } from '../store/run-names.js';
import { readAllTickets } from './read-all-tickets.js';
import { stageOfTicketId } from '../model/ids.js';
import type { RunCtx } from '../store/run-context.js';
import type { ConcernLevel } from '../model/states.js';

export interface GraphNode {
  id: string;
  stage: string;
  /** A state directory, or "unknown" for a parent named by an edge but not found (fsck explains). */
  state: string;
  concerns: Record<ConcernLevel, number>;
  /** lineage.source_refs: where in the input the ticket's work comes from ([] when unknown). */
  source_refs: string[];
  /** lineage.key: the dedupe key of a keyed child. */
  key?: string;
}

export interface GraphEdge {
  from: string;
  to: string;
}

/** A run's ticket DAG: tickets grouped by stage, edges parent -> child (cascade). */
export interface RunGraph {
  run_id: string;
  stages: string[];
  nodes: GraphNode[];
  edges: GraphEdge[];
}

/**
 * Build the DAG from ticket files: lineage.parents for every ticket, plus the extra parents
 * of de-duplicated children (cascade/requested_by/<child>~<parent>.json, one file per edge).
 */
export async function buildRunGraph(ctx: RunCtx): Promise<RunGraph> {
  const nodes = new Map<string, GraphNode>();
  const edges = new Map<string, GraphEdge>();
  const addEdge = (from: string, to: string): void => {
    edges.set(`${from}\u0000${to}`, { from, to });
  };
  for (const { entry, ticket } of await readAllTickets(ctx)) {
    const concerns = { info: 0, review: 0, error: 0 };
    for (const c of ticket.worker_concerns) concerns[c.level] += 1;
    const key = ticket.lineage.key;
    nodes.set(entry.ticket_id, { id: entry.ticket_id, stage: entry.stage, state: entry.state, concerns, source_refs: ticket.lineage.source_refs, ...(key !== undefined ? { key } : {}) });
    for (const p of ticket.lineage.parents) addEdge(p, entry.ticket_id);
  }
  for (const name of await listDirForView(ctx, ctx.paths.requestedBy)) {
    const edge = parseRequestedByFileName(name);
    if (edge) addEdge(edge.parentId, edge.childId);
  }
  for (const e of edges.values()) {
    for (const id of [e.from, e.to]) {
      if (!nodes.has(id)) nodes.set(id, { id, stage: stageOfTicketId(id), state: 'unknown', concerns: { info: 0, review: 0, error: 0 }, source_refs: [] });
    }
  }
  const pipelineStages = Object.keys(ctx.config.pipeline.stages);
  const stages = [...pipelineStages, ...[...new Set([...nodes.values()].map((n) => n.stage))].filter((s) => !pipelineStages.includes(s)).sort()];
  const byId = (a: { id: string }, b: { id: string }): number => a.id.localeCompare(b.id);
  return {
    run_id: ctx.runId,
    stages,
    nodes: [...nodes.values()].sort((a, b) => stages.indexOf(a.stage) - stages.indexOf(b.stage) || byId(a, b)),
    edges: [...edges.values()].sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to)),
  };
}
