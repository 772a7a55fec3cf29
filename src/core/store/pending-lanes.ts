import { isTqError } from '../model/errors.js';
import { compareLanes, parseLaneName, type Lane } from '../model/lanes.js';
import { TicketState } from '../model/states.js';
import { listDir } from './atomic-write.js';
import { isTicketFileName, LANES_DIR_NAME } from './run-names.js';
import { checkRealDirIfPresent, forgetDir, mkdirSeqIn, stateDir, type RunCtx } from './run-context.js';

/** A pending directory of a stage: the stage directory itself (`name` undefined) or a lane. */
export interface LaneDir extends Lane {
  dir: string;
}

/** `pending/<stage>/lanes/`. */
export function lanesDirOf(ctx: RunCtx, stage: string): string {
  return `${stateDir(ctx, TicketState.pending, stage)}/${LANES_DIR_NAME}`;
}

/** `pending/<stage>/` as a lane: priority 0, claimable now. */
export function stageLaneDir(ctx: RunCtx, stage: string): LaneDir {
  return { name: undefined, priority: 0, dir: stateDir(ctx, TicketState.pending, stage) };
}

/**
 * The lane directories of a stage (not the stage directory), in claim order (model/lanes.ts);
 * a name that is no lane is left out (fsck reports it). [] when there is no lanes/. UNSAFE_PATH
 * when lanes/ is not a real directory, unless `unsafe` is given: then it is added there and
 * skipped (reports must not fail on one bad directory).
 */
export async function listLanes(ctx: RunCtx, stage: string, unsafe?: Set<string>): Promise<LaneDir[]> {
  const container = lanesDirOf(ctx, stage);
  let names: string[];
  try {
    // Why check first: most stages have no lanes/, and this lstat is synchronous, cached and
    // raises no error, where a readdir costs a thread-pool round trip on every claim.
    if (!(await checkRealDirIfPresent(ctx, container))) return [];
    names = await listDir(ctx, container);
  } catch (err) {
    if (unsafe === undefined || !isTqError(err, 'UNSAFE_PATH')) throw err;
    unsafe.add(err.file ?? container);
    return [];
  }
  const lanes: LaneDir[] = [];
  for (const name of names) {
    const lane = parseLaneName(name);
    if (lane) lanes.push({ ...lane, dir: `${container}/${name}` });
  }
  return lanes.sort(compareLanes);
}

/**
 * How long a claimer trusts its last listing of lanes/ (wall clock, ms). Why: with lanes in use a
 * claim would otherwise pay a readdir (a thread-pool round trip, about a claim's own cost) every
 * time. Lanes this process makes are seen at once (mkdirSeqIn); lanes another process makes are
 * seen within this time; a lane that was drained meanwhile is found empty and dropped.
 */
export const LANES_RELIST_MS = 100;

const laneListings = new WeakMap<RunCtx, Map<string, { at: number; seq: number; lanes: LaneDir[] }>>();

/** listLanes for claims: the listing is kept for LANES_RELIST_MS (see there). */
export async function claimableLanes(ctx: RunCtx, stage: string): Promise<LaneDir[]> {
  const container = lanesDirOf(ctx, stage);
  let byDir = laneListings.get(ctx);
  if (!byDir) laneListings.set(ctx, (byDir = new Map()));
  const seq = mkdirSeqIn(ctx, container);
  const kept = byDir.get(container);
  if (kept && kept.seq === seq && Date.now() - kept.at < LANES_RELIST_MS) return kept.lanes;
  const lanes = await listLanes(ctx, stage);
  byDir.set(container, { at: Date.now(), seq, lanes });
  return lanes;
}

/** Every pending directory of a stage, the stage directory and its lanes, in the order claims take them once due. */
export async function pendingDirsOf(ctx: RunCtx, stage: string, unsafe?: Set<string>): Promise<LaneDir[]> {
  return [stageLaneDir(ctx, stage), ...(await listLanes(ctx, stage, unsafe))].sort(compareLanes);
}

/**
 * Remove a lane directory a claim found empty, and lanes/ if that was its last lane, so that
 * claims of a stage whose lanes were drained pay one lstat again. Both rmdirs fail harmlessly on
 * a directory that is not empty.
 * RACE: a writer that made the lane and is about to rename a ticket into it finds it gone and
 * makes it again (intoDir).
 */
export async function dropEmptyLane(ctx: RunCtx, stage: string, lane: LaneDir): Promise<void> {
  if (lane.name === undefined) return;
  laneListings.get(ctx)?.delete(lanesDirOf(ctx, stage));
  for (const dir of [lane.dir, lanesDirOf(ctx, stage)]) {
    try {
      await ctx.fs.rmdir(dir);
    } catch {
      return;
    } finally {
      forgetDir(ctx, dir);
    }
  }
}

/**
 * Does the stage hold tickets in any of its lanes, due or not (a retry's backoff, a delayed add,
 * another priority)? Why: a worker told to work until the stage is empty must wait for a retry
 * still to come, not stop. Why due lanes too: a lane can fall due between a claim that skipped it
 * as not due and this check; judged "not delayed" then, its ticket was left behind by a worker
 * that stopped (the run's clock moved on in between). Lists only lanes/ and the lanes in it.
 */
export async function hasTicketsInLanes(ctx: RunCtx, stage: string): Promise<boolean> {
  for (const lane of await listLanes(ctx, stage)) {
    if ((await listDir(ctx, lane.dir)).some((name) => isTicketFileName(name))) return true;
  }
  return false;
}
