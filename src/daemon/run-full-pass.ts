import { stateDir } from '../core/store/run-context.js';
import { errorLogOf, type DaemonRun } from './daemon-run.js';
import { serveWorkerDirs } from './serve-worker-files.js';
import { serveRequests } from './serve-requests.js';
import { cascadeCompleted } from './cascade-completed.js';
import { cleanTempFiles } from './clean-temp-files.js';
import { reapRun, startRecovery } from './repair-run.js';

export interface FullPassOptions {
  /** Most parents cascaded per stage in this pass (the rest is continued as a hint). */
  cascadeLimit: number;
  /** Wait for the recovery of moving/ before the rest (one-shot passes, tests). */
  awaitRecovery: boolean;
  /**
   * false = a light pass: directories with a live watcher (completed/<stage>/, claimed/<worker>/)
   * are not listed, since their events name each new file (a worker directory still is while
   * one of its files waits for its settle time); the reaper reads only claims it has not seen or
   * whose lease has ended. Everything else is the same as in a full pass.
   */
  full: boolean;
  /** Does this directory have a watcher that reports every file created in it by name? */
  watched?: (dir: string) => boolean;
}

/**
 * Everything the daemon does for one run, from directory listings alone: nothing a watcher
 * missed is lost (by a full pass; a light pass relies on the watchers of the big directories).
 * Returns the stages whose cascade backlog was cut short by the limit.
 */
export async function runFullPass(run: DaemonRun, opts: FullPassOptions): Promise<string[]> {
  const recovery = startRecovery(run);
  if (opts.awaitRecovery) await recovery;
  // Why this order: agents wait on their results being taken, then on children to claim.
  const light = (dir: string): boolean => !opts.full && (opts.watched?.(dir) ?? false);
  await step(run, 'serving worker files', () => serveWorkerDirs(run, (dir) => light(dir) && !run.memory.hasDir(dir)));
  const more: string[] = [];
  for (const stage of Object.keys(run.ctx.config.pipeline.stages)) {
    if (light(stateDir(run.ctx, 'completed', stage))) continue;
    await step(run, `cascading ${stage}`, async () => {
      if ((await run.locks.with(`completed\0${stage}`, () => cascadeCompleted(run, stage, opts.cascadeLimit))).more) more.push(stage);
    });
  }
  await step(run, 'serving requests', () => run.locks.with('requests', () => serveRequests(run)));
  await step(run, 'reaping', () => reapRun(run, opts.full));
  await step(run, 'cleaning .tmp/', () => cleanTempFiles(run));
  return more;
}

/** One failing step (a full disk, a permission) must not stop the others. */
async function step(run: DaemonRun, what: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    run.log({ action: 'error', note: `${what} failed; retried on the next pass`, error: errorLogOf(err) });
  }
}
