import { stateDir } from '../core/store/run-context.js';
import { checkRunDirs } from './check-run-dirs.js';
import { errorLogOf, type DaemonRun } from './daemon-run.js';
import { serveWorkerDirs } from './serve-worker-files.js';
import { scanRequests } from './scan-requests.js';
import { cascadeCompleted } from './cascade-completed.js';
import { cleanTempFiles } from './clean-temp-files.js';
import { reapRun, startRecovery } from './repair-run.js';

export interface FullPassOptions {
  /** Most parents cascaded per stage in this pass (the rest is continued as a hint). */
  cascadeLimit: number;
  /** Wait for the recovery of moving/ before the rest (one-shot passes, tests). */
  awaitRecovery: boolean;
}

export interface LightPassOptions {
  /** Most parents cascaded per stage in this pass (the rest is continued as a hint). */
  cascadeLimit: number;
  /** Does this directory have a watcher that reports every file created in it by name? */
  watched: (dir: string) => boolean;
}

/**
 * Everything the daemon does for one run, from directory listings alone: nothing a watcher
 * missed is lost. Returns the stages whose cascade backlog was cut short by the limit.
 */
export function runFullPass(run: DaemonRun, opts: FullPassOptions): Promise<string[]> {
  return passRun(run, { ...opts, skipListing: () => false, rereadClaims: true });
}

/**
 * A full pass but for what the watchers cover: directories with a live watcher
 * (completed/<stage>/, claimed/<worker>/, requests/) are not listed, since their events name
 * each new file (a worker directory or requests/ still is while one of its files waits for its
 * settle time, and requests/ while a flood drains); the
 * reaper reads only claims it has not seen or whose lease has ended.
 */
export function runLightPass(run: DaemonRun, opts: LightPassOptions): Promise<string[]> {
  return passRun(run, { cascadeLimit: opts.cascadeLimit, awaitRecovery: false, skipListing: opts.watched, rereadClaims: false });
}

interface PassPlan extends FullPassOptions {
  /** Directories not to list (their watcher reports every new file). */
  skipListing: (dir: string) => boolean;
  /** Read every claim again (else only those not seen or whose lease has ended). */
  rereadClaims: boolean;
}

async function passRun(run: DaemonRun, plan: PassPlan): Promise<string[]> {
  if (!(await checkRunDirs(run))) return [];
  const recovery = startRecovery(run);
  if (plan.awaitRecovery) await recovery;
  // Why this order: agents wait on their results being taken, then on children to claim.
  await step(run, 'serving worker files', () => serveWorkerDirs(run, (dir) => plan.skipListing(dir) && !run.memory.hasDir(dir)));
  const more: string[] = [];
  for (const stage of Object.keys(run.ctx.config.pipeline.stages)) {
    if (plan.skipListing(stateDir(run.ctx, 'completed', stage))) continue;
    await step(run, `cascading ${stage}`, async () => {
      if ((await run.locks.with(`completed\0${stage}`, () => cascadeCompleted(run, stage, plan.cascadeLimit))).more) more.push(stage);
    });
  }
  // Why also when watched: a scan left work (a flood draining, a file settling), or a full pass.
  const requests = run.ctx.paths.requests;
  if (!plan.skipListing(requests) || run.requestsMore || run.memory.hasDir(requests)) {
    await step(run, 'serving requests', async () => {
      run.requestsMore = await run.locks.with('requests', () => scanRequests(run));
    });
  }
  await step(run, 'reaping', () => reapRun(run, plan.rereadClaims));
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
