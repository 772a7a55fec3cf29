import { dirname } from 'node:path';
import { TqError } from '../model/errors.js';
import { cleanId, stageOfTicketId } from '../model/ids.js';
import { locateAll } from '../protocol/locate-ticket.js';
import { readTicketAt } from '../store/read-ticket.js';
import { registryPath } from '../protocol/birth-ticket.js';
import { requestedByOf } from './show-ticket.js';
import { readIfExists } from '../store/atomic-write.js';
import { parseBirthRecord } from '../model/birth-record.js';
import { checkRealDir, type RunCtx } from '../store/run-context.js';
import type { Ticket } from '../model/ticket-schema.js';

export interface LineageNode {
  ticket_id: string;
  stage: string;
  /** Where the ticket is now; "unknown" when only its birth record is left, "missing" when not even that. */
  state: string;
  /** Every parent that asked for it (de-duplicated fan-out has several). */
  parents: string[];
  source_refs: string[];
  key?: string;
  created_at?: string;
  completed_at?: string | null;
  /** The worker that holds or handed in the ticket. */
  worker_id?: string;
  /** registry/<stage>/<id>.json: the ticket as it was born (proof it was created). */
  birth_record?: string;
}

export interface LineageReport {
  ticket_id: string;
  root_ids: string[];
  /** Every path root -> ... -> ticket (a de-duplicated child is reached through several parents). */
  chains: string[][];
  /** True when there were more than MAX_CHAINS paths and the rest were left out. */
  truncated: boolean;
  /** Source refs of the ticket and all its ancestors, roots first (a de-duplicated child keeps only its first parent's). */
  all_source_refs: string[];
  nodes: Record<string, LineageNode>;
}

/** Enough paths for any real pipeline; a hot de-duplicated key could otherwise explode. */
export const MAX_CHAINS = 100;

/**
 * The ancestry of one ticket: every ancestor up to the root ticket(s) that came from input,
 * with state, source references and birth records, and every root -> ticket chain.
 */
export async function traceLineage(ctx: RunCtx, rawId: string): Promise<LineageReport> {
  const ticketId = cleanId(rawId, 'ticket id');
  const nodes: Record<string, LineageNode> = {};
  const queue = [ticketId];
  while (queue.length > 0) {
    const id = queue.shift() as string;
    if (nodes[id]) continue;
    const node = await lineageNodeOf(ctx, id);
    if (id === ticketId && node.state === 'missing') {
      throw new TqError('NOT_FOUND', `no ticket "${ticketId}" in run "${ctx.runId}" (and no birth record ${registryPath(ctx, stageOfTicketId(ticketId), ticketId)})`, {
        hint: `list tickets with \`tq list ${ctx.runId}\``,
      });
    }
    nodes[id] = node;
    for (const p of node.parents) if (!nodes[p]) queue.push(p);
  }
  const { chains, truncated } = chainsTo(nodes, ticketId);
  const roots = [...new Set(chains.map((c) => c[0] as string))].sort();
  const allRefs = new Set<string>();
  for (const c of chains) for (const id of c) for (const ref of nodes[id]?.source_refs ?? []) allRefs.add(ref);
  return { ticket_id: ticketId, root_ids: roots, chains, truncated, all_source_refs: [...allRefs], nodes };
}

async function lineageNodeOf(ctx: RunCtx, ticketId: string): Promise<LineageNode> {
  const stage = stageOfTicketId(ticketId);
  const reg = registryPath(ctx, stage, ticketId);
  // Why: a record that cannot be read (a FIFO or a link in its place, in a directory that is a
  // link out of the run) is no record, and one bad entry never fails the report.
  const born = await readInRun(ctx, reg, () => readIfExists(ctx, reg));
  let ticket: Ticket | undefined;
  let state = 'unknown';
  for (const loc of await locateAll(ctx, ticketId)) {
    ticket = await readInRun(ctx, loc.path, () => readTicketAt(ctx, loc.path));
    if (ticket) {
      state = loc.state;
      break;
    }
  }
  if (!ticket && born !== undefined) {
    try {
      // Why: a ticket in the middle of a move (or lost, which fsck reports) still has its birth record.
      ticket = parseBirthRecord(born, reg);
    } catch {
      ticket = undefined;
    }
  }
  if (!ticket) return { ticket_id: ticketId, stage, state: 'missing', parents: [], source_refs: [] };
  return {
    ticket_id: ticketId,
    stage: ticket.worker_type,
    state,
    parents: await requestedByOf(ctx, ticket),
    source_refs: ticket.lineage.source_refs,
    ...(ticket.lineage.key !== undefined ? { key: ticket.lineage.key } : {}),
    created_at: ticket.created_at,
    completed_at: ticket.completed_at,
    ...(ticket.claim ? { worker_id: ticket.claim.worker_id } : {}),
    ...(born !== undefined ? { birth_record: reg } : {}),
  };
}

/** `read()` of a file in a real directory of the run; undefined when it fails or the directory is not one. */
async function readInRun<T>(ctx: RunCtx, path: string, read: () => Promise<T | undefined>): Promise<T | undefined> {
  try {
    return (await checkRealDir(ctx, dirname(path))) ? await read() : undefined;
  } catch {
    return undefined;
  }
}

/** Depth-first from the ticket up through its parents; each path reversed to read root first. */
function chainsTo(nodes: Record<string, LineageNode>, ticketId: string): { chains: string[][]; truncated: boolean } {
  const chains: string[][] = [];
  let truncated = false;
  const walk = (id: string, path: string[]): void => {
    if (chains.length >= MAX_CHAINS) {
      truncated = true;
      return;
    }
    const parents = (nodes[id]?.parents ?? []).filter((p) => !path.includes(p));
    if (parents.length === 0) {
      chains.push([...path].reverse());
      return;
    }
    for (const p of parents) walk(p, [...path, p]);
  };
  walk(ticketId, [ticketId]);
  chains.sort((a, b) => a.join(' ').localeCompare(b.join(' ')));
  return { chains, truncated };
}
