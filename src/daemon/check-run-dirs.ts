import { ALL_STATES, TicketState } from '../core/model/states.js';
import { stateDir } from '../core/store/run-context.js';
import { lanesDirOf } from '../core/store/pending-lanes.js';
import { linkedDirOnPath, relOf, type DaemonRun } from './daemon-run.js';

/**
 * The directories of a run that operations write, move or delete in (state directories and
 * their stage directories and lanes/, registry/, moving/, .tmp/, quarantine/, rejected/, cascade/,
 * paused/): each
 * must be a real directory of the run, or not exist yet. Returns the first that is not (a
 * symbolic link, a file), or undefined.
 */
export async function linkedRunDir(run: DaemonRun): Promise<string | undefined> {
  const { paths } = run.ctx;
  const dirs = [paths.tmp, paths.moving, paths.quarantine, paths.rejected, paths.requestedBy, paths.cascadeDone, paths.requests, paths.paused];
  for (const stage of Object.keys(run.ctx.config.pipeline.stages)) {
    dirs.push(`${paths.registry}/${stage}`, lanesDirOf(run.ctx, stage));
    for (const state of ALL_STATES) if (state !== TicketState.claimed) dirs.push(stateDir(run.ctx, state, stage));
  }
  dirs.push(`${paths.dir}/${TicketState.claimed}`);
  for (const dir of dirs) {
    const linked = await linkedDirOnPath(run.ctx, dir);
    if (linked !== undefined) return linked;
  }
  return undefined;
}

/**
 * Check the run's directories before a pass (see linkedRunDir). A run with one that is a link
 * is not served at all until it is fixed: anything the daemon did there could write, move or
 * delete files outside the run. Logged when it starts and when it ends. True when safe.
 */
export async function checkRunDirs(run: DaemonRun): Promise<boolean> {
  const linked = await linkedRunDir(run);
  const was = run.unsafe;
  run.unsafe = linked === undefined ? undefined : relOf(run, linked);
  if (run.unsafe !== undefined && run.unsafe !== was) {
    run.log({ action: 'not served', file: run.unsafe, note: `${run.unsafe} is not a real directory (a symbolic link?): nothing in this run is done until it is one, so that nothing outside the run is ever written, moved or deleted (\`tq fsck\` reports it)` });
  } else if (run.unsafe === undefined && was !== undefined) {
    run.log({ action: 'served again', note: `${was} is a real directory again (or gone)` });
  }
  return run.unsafe === undefined;
}
