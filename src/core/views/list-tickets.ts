import { join } from 'node:path';
import { cleanId, stageOfTicketId } from '../model/ids.js';
import { claimedDir, stateDir, type RunCtx } from '../store/run-context.js';
import { ALL_STATES, TicketState, isTicketState } from '../model/states.js';
import { TqError, isTqError } from '../model/errors.js';
import { isLaneDue } from '../model/lanes.js';
import { pendingDirsOf } from '../store/pending-lanes.js';
import { listPauses, type PauseState } from '../ops/pause-run.js';
import { listDirForView } from './list-dir-for-view.js';
import { runPaths } from '../store/run-paths.js';
import { isInFlightName, isJsonFileName, isTicketFileName, isWhyFileName, stripTicketSuffix } from '../store/run-names.js';

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

/** The tickets of one state directory, as its listing gave them (no ticket body is read). */
export interface TicketDirListing {
  state: TicketState;
  /** The stage of every ticket here. Under claimed/<worker>/, which mixes stages, only when the filter named one; else undefined (see `stageOfTicketId`). */
  stage: string | undefined;
  worker_id: string | undefined;
  dir: string;
  /** Ticket file names (`<ticket-id>.json`), sorted by code unit; the ids are the names without `.json`. */
  names: string[];
}

/** The ticket file names of a listing; the same array when every name is one (the usual case). */
function ticketNames(names: string[]): string[] {
  for (let i = 0; i < names.length; i += 1) {
    if (!isTicketFileName(names[i] as string)) return names.filter(isTicketFileName);
  }
  return names;
}

function countTicketNames(names: string[]): number {
  let n = 0;
  for (let i = 0; i < names.length; i += 1) if (isTicketFileName(names[i] as string)) n += 1;
  return n;
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function checkFilter(filter: ListFilter): { state: TicketState | undefined; stage: string | undefined } {
  const state = filter.state?.trim();
  if (state !== undefined && !isTicketState(state)) {
    throw new TqError('USAGE', `--state "${state}" is not a state`, { field: 'state', hint: `states are: ${ALL_STATES.join(', ')}` });
  }
  const stage = filter.stage !== undefined ? cleanId(filter.stage, 'stage') : undefined;
  return { state, stage };
}

/**
 * Every state directory the filter selects, in listing order: states in `ALL_STATES` order; in
 * each, stages in pipeline order (claimed/: workers sorted by name); in each directory, names
 * sorted. One readdir per directory, all issued at once; nothing per ticket but a name check.
 * A directory that is not a real directory of the run (a link out of it) is skipped, and named
 * in `unsafe` when given. Names only: an entry named like a ticket that is not a regular file is
 * listed, never opened (`tq show` and `tq fsck` say what it is).
 */
export async function listTicketDirs(ctx: RunCtx, filter: ListFilter = {}, unsafe?: Set<string>): Promise<TicketDirListing[]> {
  const { state, stage } = checkFilter(filter);
  const stages = stage !== undefined ? [stage] : Object.keys(ctx.config.pipeline.stages);
  const listing = async (s: TicketState, st: string | undefined, worker_id: string | undefined, dir: string): Promise<TicketDirListing> => {
    let names = ticketNames(await listDirForView(ctx, dir, unsafe));
    if (worker_id !== undefined && st !== undefined) names = names.filter((n) => stageOfTicketId(stripTicketSuffix(n)) === st);
    return { state: s, stage: st, worker_id, dir, names: names.sort(byCodeUnit) };
  };
  // Every listing starts at once (claimed/<worker>/ as soon as claimed/ is listed); the order is fixed afterwards.
  const groups = (state !== undefined ? [state] : ALL_STATES).map(async (s): Promise<TicketDirListing[]> => {
    if (s === TicketState.pending) {
      // Why lanes too: pending tickets of another priority or delayed wait in pending/<stage>/lanes/<lane>/.
      const perStage = await Promise.all(stages.map(async (st) => Promise.all((await pendingDirsOf(ctx, st, unsafe ?? new Set())).map((l) => listing(s, st, undefined, l.dir)))));
      return perStage.flat();
    }
    if (s !== TicketState.claimed) return Promise.all(stages.map((st) => listing(s, st, undefined, stateDir(ctx, s, st))));
    const workers = (await listDirForView(ctx, join(ctx.paths.dir, TicketState.claimed), unsafe)).sort(byCodeUnit);
    return Promise.all(workers.map((w) => listing(s, stage, w, claimedDir(ctx, w))));
  });
  return (await Promise.all(groups)).flat();
}

/** List tickets from directory listings alone (no ticket body is read), in `listTicketDirs` order. */
export async function listTickets(ctx: RunCtx, filter: ListFilter = {}): Promise<TicketEntry[]> {
  const dirs = await listTicketDirs(ctx, filter);
  let total = 0;
  for (const d of dirs) total += d.names.length;
  const out: TicketEntry[] = new Array<TicketEntry>(total);
  let k = 0;
  for (const d of dirs) {
    const prefix = `${d.dir}/`;
    const names = d.names;
    if (d.worker_id === undefined) {
      const stage = d.stage as string;
      for (let i = 0; i < names.length; i += 1) {
        const name = names[i] as string;
        out[k++] = { ticket_id: stripTicketSuffix(name), state: d.state, stage, path: prefix + name };
      }
    } else {
      for (let i = 0; i < names.length; i += 1) {
        const name = names[i] as string;
        const id = stripTicketSuffix(name);
        out[k++] = { ticket_id: id, state: d.state, stage: stageOfTicketId(id), path: prefix + name, worker_id: d.worker_id };
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
  /** Pending tickets per stage that may not be claimed yet (delayed, or waiting out a retry backoff); counted in `pending` too. Only stages that have any. */
  delayed: Record<string, number>;
  /** Pauses in force (`tq pause`): `run` for the whole run, else the stage names. Only when there are any. */
  paused?: string[];
  /** Directories of the run that are not real directories (links out of it): skipped, left alone. Only when there are any. */
  unsafe_dirs?: string[];
  /** Tickets ever created per stage (registry/), when asked for: a total that never counts a moving ticket twice. */
  registered?: Record<string, number>;
}

function zeroCounts(): StateCounts {
  return { pending: 0, claimed: 0, completed: 0, failed: 0, needs_review: 0 };
}

/**
 * Counts per stage and state, from directory listings alone: names are counted, never read or
 * sorted. The listings are issued together but are not one snapshot, so a ticket moving
 * meanwhile can be counted in two states or none; `withRegistry` adds the per-stage totals from
 * registry/, which a move never changes.
 */
export async function runStatus(ctx: RunCtx, opts: { withRegistry?: boolean } = {}): Promise<RunStatus> {
  const stages = Object.keys(ctx.config.pipeline.stages);
  const counts: Record<string, StateCounts> = {};
  for (const stage of stages) counts[stage] = zeroCounts();
  const totals = { ...zeroCounts(), all: 0 };
  const workers: Record<string, number> = {};
  const bump = (stage: string, state: TicketState, n: number): void => {
    const c = (counts[stage] ??= zeroCounts());
    c[state] += n;
    totals[state] += n;
    totals.all += n;
  };
  const unclaimed = ALL_STATES.filter((s): s is Exclude<TicketState, 'claimed'> => s !== TicketState.claimed);
  const cells = unclaimed.flatMap((state) => stages.map((stage) => ({ state, stage })));
  const unsafe = new Set<string>();
  const listOrSkip = (dir: string): Promise<string[]> => listDirForView(ctx, dir, unsafe);
  const countOf = async (dir: string): Promise<number> => countTicketNames(await listOrSkip(dir));
  const now = ctx.clock.now().getTime();
  const delayed: Record<string, number> = {};
  // Why lanes in pending/: each lane is counted from its listing like a state directory.
  const countCell = async (c: { state: Exclude<TicketState, 'claimed'>; stage: string }): Promise<number> => {
    if (c.state !== TicketState.pending) return countOf(stateDir(ctx, c.state, c.stage));
    const counts = await Promise.all((await pendingDirsOf(ctx, c.stage, unsafe)).map(async (l) => ({ n: await countOf(l.dir), due: isLaneDue(l, now) })));
    const later = counts.reduce((sum, x) => sum + (x.due ? 0 : x.n), 0);
    if (later > 0) delayed[c.stage] = later;
    return counts.reduce((sum, x) => sum + x.n, 0);
  };
  const [cellCounts, claimed, moving, rejected, quarantine, registered, pauses] = await Promise.all([
    Promise.all(cells.map(countCell)),
    listOrSkip(join(ctx.paths.dir, TicketState.claimed)).then((ws) => Promise.all(ws.map(async (w) => ({ worker: w, names: await listOrSkip(claimedDir(ctx, w)) })))),
    listOrSkip(ctx.paths.moving),
    listOrSkip(ctx.paths.rejected),
    listOrSkip(ctx.paths.quarantine),
    opts.withRegistry ? countRegistered(ctx, stages, unsafe) : undefined,
    listPausesForView(ctx, unsafe),
  ]);
  cells.forEach((c, i) => bump(c.stage, c.state, cellCounts[i] as number));
  for (const { worker, names } of claimed) {
    for (const name of names) {
      if (!isTicketFileName(name)) continue;
      bump(stageOfTicketId(stripTicketSuffix(name)), TicketState.claimed, 1);
      workers[worker] = (workers[worker] ?? 0) + 1;
    }
  }
  return {
    run_id: ctx.runId,
    counts,
    totals,
    workers,
    in_flight: moving.filter(isInFlightName).length,
    rejected_outputs: rejected.filter(isJsonFileName).length,
    quarantined: quarantine.filter((n) => !isWhyFileName(n)).length,
    delayed,
    ...(pauses.length > 0 ? { paused: pauses.map((p) => (p.scope === 'run' ? 'run' : (p.stage as string))) } : {}),
    ...(registered !== undefined ? { registered } : {}),
    ...(unsafe.size > 0 ? { unsafe_dirs: [...unsafe].sort() } : {}),
  };
}

/** listPauses for a report: a paused/ that is not a real directory is skipped (and named in `unsafe`). */
async function listPausesForView(ctx: RunCtx, unsafe: Set<string>): Promise<PauseState[]> {
  try {
    return await listPauses(ctx);
  } catch (err) {
    if (!isTqError(err, 'UNSAFE_PATH')) throw err;
    unsafe.add(err.file ?? ctx.paths.paused);
    return [];
  }
}

async function countRegistered(ctx: RunCtx, stages: string[], unsafe: Set<string>): Promise<Record<string, number>> {
  const n = await Promise.all(stages.map(async (stage) => (await listDirForView(ctx, join(ctx.paths.registry, stage), unsafe)).filter(isJsonFileName).length));
  return Object.fromEntries(stages.map((stage, i) => [stage, n[i] as number]));
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
      if ((await fs.stat(runPaths(root, name).runJson)).isFile()) runs.push(name);
    } catch {
      // not a run
    }
  }
  return runs;
}
