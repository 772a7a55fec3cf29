import { listDirForView } from './list-dir-for-view.js';
import { readAllTickets } from './read-all-tickets.js';
import { rejectedOutputsOf } from './show-ticket.js';
import { stageOfTicketId } from '../model/ids.js';
import type { RunCtx } from '../store/run-context.js';
import { CONCERN_LEVELS, type ConcernLevel, type TicketState } from '../model/states.js';
import type { Ticket, Usage } from '../model/ticket-schema.js';

/** Figures for one group of tickets (a stage, a worker, or the whole run). */
export interface StatsRow {
  /** Tickets handed in by a worker (completed, needs_review or failed with a submit). */
  submitted: number;
  completed: number;
  needs_review: number;
  failed: number;
  input_tokens: number;
  output_tokens: number;
  /** usage.total_tokens, or input + output when a worker reported no total. */
  total_tokens: number;
  cost_usd: number;
  /** Sum of usage.duration_ms: the time workers say they spent. */
  work_ms: number;
  /** Sum of claim.claimed_at -> submit time over submitted tickets: the time tickets were held. */
  held_ms: number;
  /** First claim to last submit in this group (null before the first submit). */
  span_ms: number | null;
  /** completed per hour of span_ms (null when the span is zero or unknown). */
  completed_per_hour: number | null;
  /** Sum of claim_count: how often tickets were claimed (1 per ticket when nothing went wrong). */
  claims: number;
  /** Sum of attempts: expired leases counted against max_attempts. */
  attempts: number;
  /** "reaped" events in ticket histories (a lease expired and the reaper took the ticket back). */
  reaps: number;
  concerns: Record<ConcernLevel, number>;
  /** Outputs refused after a lost lease (their tokens are in wasted_tokens, not above). */
  rejected_outputs: number;
  wasted_tokens: number;
  wasted_cost_usd: number;
  /** Model name -> submitted tickets that reported it. */
  models: Record<string, number>;
}

export interface StageStats extends StatsRow {
  /** Tickets of the stage right now, by state directory. */
  states: Record<TicketState, number>;
}

export interface RunStats {
  run_id: string;
  stages: Record<string, StageStats>;
  workers: Record<string, StatsRow>;
  totals: StatsRow;
}

export function emptyStatsRow(): StatsRow {
  return {
    submitted: 0,
    completed: 0,
    needs_review: 0,
    failed: 0,
    input_tokens: 0,
    output_tokens: 0,
    total_tokens: 0,
    cost_usd: 0,
    work_ms: 0,
    held_ms: 0,
    span_ms: null,
    completed_per_hour: null,
    claims: 0,
    attempts: 0,
    reaps: 0,
    concerns: { info: 0, review: 0, error: 0 },
    rejected_outputs: 0,
    wasted_tokens: 0,
    wasted_cost_usd: 0,
    models: {},
  };
}

function emptyStates(): Record<TicketState, number> {
  return { pending: 0, claimed: 0, completed: 0, failed: 0, needs_review: 0 };
}

/** Tokens of one usage record; total_tokens wins over input + output when given. */
export function tokensOf(usage: Usage | null | undefined): { input: number; output: number; total: number } {
  const input = usage?.input_tokens ?? 0;
  const output = usage?.output_tokens ?? 0;
  return { input, output, total: usage?.total_tokens ?? input + output };
}

/**
 * When the worker handed the ticket in. Why: completed_at is overwritten by `tq approve`, so a
 * reviewed ticket's completed_at is the approval time; the "submitted" history event is not.
 */
export function submittedAtOf(t: Ticket): string | undefined {
  for (let i = t.history.length - 1; i >= 0; i -= 1) {
    const h = t.history[i];
    if (h?.event === 'submitted') return h.at;
  }
  // History keeps the newest 20 entries; a ticket with usage was submitted at completed_at.
  return t.usage !== null && t.completed_at !== null ? t.completed_at : undefined;
}

/** Span bookkeeping kept beside a row while tickets are added, turned into span_ms at the end. */
interface Span {
  first: number;
  last: number;
}

class Accumulator {
  readonly rows = new Map<string, StatsRow>();
  readonly spans = new Map<string, Span>();

  row(key: string): StatsRow {
    let r = this.rows.get(key);
    if (!r) {
      r = emptyStatsRow();
      this.rows.set(key, r);
    }
    return r;
  }

  widen(key: string, from: number, to: number): void {
    const s = this.spans.get(key);
    if (!s) this.spans.set(key, { first: from, last: to });
    else {
      s.first = Math.min(s.first, from);
      s.last = Math.max(s.last, to);
    }
  }

  finish(key: string): StatsRow {
    const r = this.row(key);
    const s = this.spans.get(key);
    if (s) {
      r.span_ms = Math.max(0, s.last - s.first);
      r.completed_per_hour = r.span_ms > 0 ? round2((r.completed * 3_600_000) / r.span_ms) : null;
    }
    r.cost_usd = round6(r.cost_usd);
    r.wasted_cost_usd = round6(r.wasted_cost_usd);
    return r;
  }
}

const round2 = (n: number): number => Math.round(n * 100) / 100;
const round6 = (n: number): number => Math.round(n * 1e6) / 1e6;

function addSubmission(rows: StatsRow[], t: Ticket): void {
  const tok = tokensOf(t.usage);
  for (const r of rows) {
    r.submitted += 1;
    if (t.status === 'completed') r.completed += 1;
    else if (t.status === 'needs_review') r.needs_review += 1;
    else if (t.status === 'failed') r.failed += 1;
    r.input_tokens += tok.input;
    r.output_tokens += tok.output;
    r.total_tokens += tok.total;
    r.cost_usd += t.usage?.cost_usd ?? 0;
    r.work_ms += t.usage?.duration_ms ?? 0;
    const model = t.usage?.model;
    if (model !== undefined) r.models[model] = (r.models[model] ?? 0) + 1;
  }
}

/**
 * Tokens, cost, time, throughput, retries and concerns per stage and per worker, from the
 * ticket files alone (usage, claim, history and worker_concerns that submit keeps on every
 * finished ticket). Reaps are counted from ticket histories, which keep the newest 20 events.
 */
export async function collectRunStats(ctx: RunCtx): Promise<RunStats> {
  const acc = new Accumulator();
  const stageStates = new Map<string, Record<TicketState, number>>();
  for (const stage of Object.keys(ctx.config.pipeline.stages)) {
    acc.row(`s:${stage}`);
    stageStates.set(stage, emptyStates());
  }
  acc.row('total');

  for (const { entry, ticket: t } of await readAllTickets(ctx)) {
    const stageKey = `s:${entry.stage}`;
    const states = stageStates.get(entry.stage) ?? emptyStates();
    stageStates.set(entry.stage, states);
    states[entry.state] += 1;
    const stageRow = acc.row(stageKey);
    const total = acc.row('total');
    for (const r of [stageRow, total]) {
      r.claims += t.claim_count;
      r.attempts += t.attempts;
    }

    const submittedAt = submittedAtOf(t);
    const submitter = t.claim?.worker_id;
    if (submittedAt !== undefined && submitter !== undefined && entry.state !== 'pending' && entry.state !== 'claimed') {
      const workerKey = `w:${submitter}`;
      const workerRow = acc.row(workerKey);
      addSubmission([stageRow, total, workerRow], t);
      const from = Date.parse(t.claim?.claimed_at ?? '');
      const to = Date.parse(submittedAt);
      if (Number.isFinite(from) && Number.isFinite(to) && to >= from) {
        for (const r of [stageRow, total, workerRow]) r.held_ms += to - from;
        for (const key of [stageKey, 'total', workerKey]) acc.widen(key, from, to);
      }
    } else if (entry.state === 'failed') {
      // Failed by the reaper (max_attempts reached): no worker handed it in.
      stageRow.failed += 1;
      total.failed += 1;
    }

    for (const h of t.history) {
      // Per worker, claims come from history (claim_count has no worker); stages use claim_count.
      if (h.event === 'claimed' && h.worker_id !== undefined) acc.row(`w:${h.worker_id}`).claims += 1;
      if (h.event !== 'reaped') continue;
      stageRow.reaps += 1;
      total.reaps += 1;
      if (h.worker_id !== undefined) acc.row(`w:${h.worker_id}`).reaps += 1;
    }
    for (const c of t.worker_concerns) {
      stageRow.concerns[c.level] += 1;
      total.concerns[c.level] += 1;
      const who = c.worker_id ?? submitter;
      if (who !== undefined) acc.row(`w:${who}`).concerns[c.level] += 1;
    }
  }

  await addRejectedOutputs(ctx, acc);

  const stages: Record<string, StageStats> = {};
  const workers: Record<string, StatsRow> = {};
  for (const key of [...acc.rows.keys()].sort()) {
    if (key.startsWith('s:')) {
      const stage = key.slice(2);
      stages[stage] = { ...acc.finish(key), states: stageStates.get(stage) ?? emptyStates() };
    } else if (key.startsWith('w:')) workers[key.slice(2)] = acc.finish(key);
  }
  // Why: stages in pipeline order (parse -> translate -> curate) read better than sorted.
  const ordered: Record<string, StageStats> = {};
  for (const stage of [...Object.keys(ctx.config.pipeline.stages), ...Object.keys(stages)]) {
    const s = stages[stage];
    if (s && !(stage in ordered)) ordered[stage] = s;
  }
  return { run_id: ctx.runId, stages: ordered, workers, totals: acc.finish('total') };
}

/** Late outputs refused after a lost lease still cost tokens: count them as waste. */
async function addRejectedOutputs(ctx: RunCtx, acc: Accumulator): Promise<void> {
  const ids = new Set((await listDirForView(ctx, ctx.paths.rejected)).map((n) => n.split('~')[0] ?? '').filter((id) => id !== ''));
  for (const id of [...ids].sort()) {
    for (const r of await rejectedOutputsOf(ctx, id)) {
      const tok = tokensOf(r.usage);
      const rows = [acc.row(`s:${stageOfTicketId(id)}`), acc.row('total'), ...(typeof r.worker_id === 'string' ? [acc.row(`w:${r.worker_id}`)] : [])];
      for (const row of rows) {
        row.rejected_outputs += 1;
        row.wasted_tokens += tok.total;
        row.wasted_cost_usd += r.usage?.cost_usd ?? 0;
      }
      for (const c of r.worker_concerns ?? []) {
        if (!(CONCERN_LEVELS as readonly string[]).includes(c.level)) continue;
        // Concerns of refused outputs are real worries too (tq concerns lists them).
        for (const row of rows) row.concerns[c.level] += 1;
      }
    }
  }
}
