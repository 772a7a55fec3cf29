import type { TicketPage, TicketRow } from './page/types.js';
import { TqError } from '../core/model/errors.js';
import { ALL_STATES, CONCERN_LEVELS, type TicketState } from '../core/model/states.js';
import type { TicketEntry } from '../core/views/list-tickets.js';
import type { BoardRuns, TicketFacts } from './board-runs.js';

export interface TicketQuery {
  stage?: string;
  state?: string;
  worker?: string;
  concern?: string;
  ref?: string;
  q?: string;
  offset: number;
  limit: number;
}

// Why from the page's types: the page reads exactly what this module answers; one definition keeps
// the two from drifting (the file has no DOM or Node types, so both compilations accept it).
export type { TicketPage, TicketRow } from './page/types.js';

/** One page is at most this long: the page asks for what is on screen plus a margin. */
export const MAX_PAGE = 1000;

function whole(text: string | null, name: string, fallback: number, max: number): number {
  if (text === null || text === '') return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new TqError('USAGE', `${name}=${text} is not a whole number from 0 to ${max}`, { field: name });
  return n;
}

/** The query string of /api/runs/<run>/tickets, checked (a bad value is a 400 naming it). */
export function ticketQueryOf(params: URLSearchParams): TicketQuery {
  const q: TicketQuery = { offset: whole(params.get('offset'), 'offset', 0, Number.MAX_SAFE_INTEGER), limit: whole(params.get('limit'), 'limit', 100, MAX_PAGE) };
  for (const key of ['stage', 'state', 'worker', 'concern', 'ref', 'q'] as const) {
    const v = params.get(key)?.trim();
    if (v !== undefined && v !== '') q[key] = v;
  }
  if (q.state !== undefined && !(ALL_STATES as readonly string[]).includes(q.state)) {
    throw new TqError('USAGE', `state=${q.state} is not a state`, { field: 'state', hint: `states are: ${ALL_STATES.join(', ')}` });
  }
  if (q.concern !== undefined && !(CONCERN_LEVELS as readonly string[]).includes(q.concern)) {
    throw new TqError('USAGE', `concern=${q.concern} is not a concern level`, { field: 'concern', hint: `levels are: ${CONCERN_LEVELS.join(', ')}` });
  }
  return q;
}

/** Filters that need ticket bodies (worker of a finished ticket, concerns, source refs). */
function needsFacts(q: TicketQuery): boolean {
  return q.concern !== undefined || q.ref !== undefined || q.q !== undefined || (q.worker !== undefined && q.state !== 'claimed');
}

function matches(e: TicketEntry, q: TicketQuery, facts: Map<string, TicketFacts> | undefined): boolean {
  if (q.stage !== undefined && e.stage !== q.stage) return false;
  if (q.state !== undefined && e.state !== q.state) return false;
  const f = facts?.get(e.ticket_id);
  if (q.worker !== undefined && (e.worker_id ?? f?.worker_id) !== q.worker) return false;
  if (q.concern !== undefined && !(f?.levels.has(q.concern as 'info') ?? false)) return false;
  if (q.ref !== undefined && !(f?.source_refs.includes(q.ref) ?? false)) return false;
  if (q.q !== undefined) {
    const needle = q.q.toLowerCase();
    const inRefs = f?.source_refs.some((r) => r.toLowerCase().includes(needle)) ?? false;
    if (!e.ticket_id.toLowerCase().includes(needle) && !inRefs) return false;
  }
  return true;
}

/**
 * One page of a run's tickets, filtered, in `tq list` order (states, then stages, then names).
 * Claimed rows carry their worker and lease from the run's snapshot.
 */
export async function queryTickets(runs: BoardRuns, run: string, q: TicketQuery): Promise<TicketPage> {
  const entries = await runs.listing(run);
  const facts = needsFacts(q) ? await runs.facts(run) : undefined;
  const hits = q.stage === undefined && q.state === undefined && facts === undefined && q.worker === undefined ? entries : entries.filter((e) => matches(e, q, facts));
  const slice = hits.slice(q.offset, q.offset + q.limit);
  const claims = slice.some((e) => e.state === 'claimed') ? new Map((await runs.snapshot(run)).claims.map((c) => [c.ticket_id, c])) : undefined;
  const items = slice.map((e): TicketRow => {
    const c = claims?.get(e.ticket_id);
    return {
      ticket_id: e.ticket_id,
      state: e.state,
      stage: e.stage,
      ...(e.worker_id !== undefined ? { worker_id: e.worker_id } : {}),
      ...(c !== undefined ? { lease_left_ms: c.lease_left_ms, stalled: c.stalled } : {}),
    };
  });
  return { total: hits.length, offset: q.offset, items };
}
