import { cleanId } from '../model/ids.js';
import { listTickets } from './list-tickets.js';
import { readTicketAt } from '../store/read-ticket.js';
import { mapLimit } from '../store/run-pool.js';
import { CONCERN_LEVELS, type ConcernLevel } from '../model/states.js';
import { TqError } from '../model/errors.js';
import type { RunCtx } from '../store/run-context.js';
import type { Concern } from '../model/ticket-schema.js';
import { rejectedOutputsOf } from './show-ticket.js';
import { listDirForView } from './list-dir-for-view.js';

export interface ConcernRow extends Concern {
  ticket_id: string;
  stage: string;
  state: string;
  /** True for concerns from an output refused after a lost lease (kept in rejected/). */
  rejected?: boolean;
}

export interface ConcernReport {
  concerns: ConcernRow[];
  by_level: Record<ConcernLevel, number>;
  by_stage: Record<string, Record<ConcernLevel, number>>;
}

/** Every worker concern in the run (including those of rejected late outputs), filtered. */
export async function collectConcerns(ctx: RunCtx, filter: { level?: string; stage?: string } = {}): Promise<ConcernReport> {
  const level = filter.level?.trim();
  if (level !== undefined && !(CONCERN_LEVELS as readonly string[]).includes(level)) {
    throw new TqError('USAGE', `--level "${level}" is not a concern level`, { field: 'level', hint: `levels are: ${CONCERN_LEVELS.join(', ')}` });
  }
  const stage = filter.stage !== undefined ? cleanId(filter.stage, 'stage') : undefined;
  const entries = await listTickets(ctx, stage !== undefined ? { stage } : {});
  const rows: ConcernRow[] = [];
  await mapLimit(entries, 16, async (e) => {
    const t = await readTicketAt(ctx, e.path).catch(() => undefined);
    for (const c of t?.worker_concerns ?? []) rows.push({ ...c, ticket_id: e.ticket_id, stage: e.stage, state: e.state });
  });
  const rejectedIds = new Set((await listDirForView(ctx, ctx.paths.rejected)).map((n) => n.split('~')[0] ?? ''));
  for (const id of rejectedIds) {
    if (id === '') continue;
    for (const r of await rejectedOutputsOf(ctx, id)) {
      const st = id.split('-')[0] ?? '';
      if (stage !== undefined && st !== stage) continue;
      for (const c of r.worker_concerns ?? []) rows.push({ ...c, worker_id: r.worker_id, ticket_id: id, stage: st, state: 'rejected', rejected: true });
    }
  }
  const filtered = rows.filter((r) => level === undefined || r.level === level);
  const order = { error: 0, review: 1, info: 2 } as const;
  filtered.sort((a, b) => order[a.level] - order[b.level] || a.stage.localeCompare(b.stage) || a.ticket_id.localeCompare(b.ticket_id));
  const by_level = { info: 0, review: 0, error: 0 };
  const by_stage: Record<string, Record<ConcernLevel, number>> = {};
  for (const r of filtered) {
    by_level[r.level] += 1;
    (by_stage[r.stage] ??= { info: 0, review: 0, error: 0 })[r.level] += 1;
  }
  return { concerns: filtered, by_level, by_stage };
}
