import { join } from 'node:path';
import { cleanId, stageOfTicketId } from './ids.js';
import { ticketIdOfFileName } from './run-paths.js';
import { claimedDir, stateDir, type RunCtx } from './run-context.js';
import { ALL_STATES, TicketState, isTicketState } from './states.js';
import { TqError } from './errors.js';
import { listDir } from './atomic-write.js';

export interface TicketEntry {
  ticket_id: string;
  state: TicketState;
  stage: string;
  path: string;
  worker_id?: string;
}

export interface ListFilter {
  state?: string;
  stage?: string;
}

/** List tickets from directory listings alone (no ticket body is read). */
export async function listTickets(ctx: RunCtx, filter: ListFilter = {}): Promise<TicketEntry[]> {
  const state = filter.state?.trim();
  if (state !== undefined && !isTicketState(state)) {
    throw new TqError('USAGE', `--state "${state}" is not a state`, { field: 'state', hint: `states are: ${ALL_STATES.join(', ')}` });
  }
  const stage = filter.stage !== undefined ? cleanId(filter.stage, 'stage') : undefined;
  const stages = stage !== undefined ? [stage] : Object.keys(ctx.config.pipeline.stages);
  const out: TicketEntry[] = [];
  for (const s of state !== undefined ? [state] : ALL_STATES) {
    if (s === TicketState.claimed) {
      for (const worker of (await listDir(ctx, join(ctx.paths.dir, 'claimed'))).sort()) {
        const dir = claimedDir(ctx, worker);
        for (const name of (await listDir(ctx, dir)).sort()) {
          const id = ticketIdOfFileName(name);
          if (id === undefined) continue;
          const st = stageOfTicketId(id);
          if (stage !== undefined && st !== stage) continue;
          out.push({ ticket_id: id, state: s, stage: st, path: join(dir, name), worker_id: worker });
        }
      }
      continue;
    }
    for (const st of stages) {
      const dir = stateDir(ctx, s, st);
      for (const name of (await listDir(ctx, dir)).sort()) {
        const id = ticketIdOfFileName(name);
        if (id !== undefined) out.push({ ticket_id: id, state: s, stage: st, path: join(dir, name) });
      }
    }
  }
  return out;
}

export type StateCounts = Record<TicketState, number>;

export interface RunStatus {
  run_id: string;
  counts: Record<string, StateCounts>;
  totals: StateCounts & { all: number };
  workers: Record<string, number>;
  in_flight: number;
  rejected_outputs: number;
  quarantined: number;
  /** Tickets ever created per stage (registry/), when asked for: a total that never counts a moving ticket twice. */
  registered?: Record<string, number>;
}

function zeroCounts(): StateCounts {
  return { pending: 0, claimed: 0, completed: 0, failed: 0, needs_review: 0 };
}

/**
 * Counts per stage and state, from directory listings alone. The listings are taken one after
 * another, so a ticket moving meanwhile can be counted in two states or none; `withRegistry`
 * adds the per-stage totals from registry/, which a move never changes.
 */
export async function runStatus(ctx: RunCtx, opts: { withRegistry?: boolean } = {}): Promise<RunStatus> {
  const counts: Record<string, StateCounts> = {};
  for (const stage of Object.keys(ctx.config.pipeline.stages)) counts[stage] = zeroCounts();
  const totals = { ...zeroCounts(), all: 0 };
  const workers: Record<string, number> = {};
  const bump = (stage: string, state: TicketState, n: number): void => {
    const c = (counts[stage] ??= zeroCounts());
    c[state] += n;
    totals[state] += n;
    totals.all += n;
  };
  for (const state of ALL_STATES) {
    if (state === TicketState.claimed) continue;
    for (const stage of Object.keys(counts)) {
      bump(stage, state, (await listDir(ctx, stateDir(ctx, state, stage))).filter((n) => ticketIdOfFileName(n) !== undefined).length);
    }
  }
  for (const worker of await listDir(ctx, join(ctx.paths.dir, 'claimed'))) {
    for (const name of await listDir(ctx, claimedDir(ctx, worker))) {
      const id = ticketIdOfFileName(name);
      if (id === undefined) continue;
      bump(stageOfTicketId(id), 'claimed', 1);
      workers[worker] = (workers[worker] ?? 0) + 1;
    }
  }
  const moving = await listDir(ctx, ctx.paths.moving);
  return {
    run_id: ctx.runId,
    counts,
    totals,
    workers,
    in_flight: moving.filter((n) => n.endsWith('.prev.json') || n.endsWith('.new.json')).length,
    rejected_outputs: (await listDir(ctx, ctx.paths.rejected)).filter((n) => n.endsWith('.json')).length,
    quarantined: (await listDir(ctx, ctx.paths.quarantine)).filter((n) => !n.endsWith('.why.json')).length,
    ...(opts.withRegistry ? { registered: await countRegistered(ctx, Object.keys(counts)) } : {}),
  };
}

async function countRegistered(ctx: RunCtx, stages: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const stage of stages) out[stage] = (await listDir(ctx, join(ctx.paths.registry, stage))).filter((n) => n.endsWith('.json')).length;
  return out;
}

/** Runs under a root: directories holding a run.json. */
export async function listRuns(root: string, fs: { readdir(p: string): Promise<string[]>; stat(p: string): Promise<{ isFile(): boolean }> }): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(root);
  } catch {
    return [];
  }
  const runs: string[] = [];
  for (const name of names.sort()) {
    if (name.startsWith('.')) continue;
    try {
      if ((await fs.stat(join(root, name, 'run.json'))).isFile()) runs.push(name);
    } catch {
      // not a run
    }
  }
  return runs;
}
