import { cascadeCompleted, cascadeNamed } from './cascade-completed.js';
import type { Hint } from './classify-hint.js';
import { errorLogOf, type DaemonRun } from './daemon-run.js';
import { scanRequests } from './scan-requests.js';
import { serveRequestFile } from './serve-requests.js';
import { serveWorkerDir, serveWorkerFile } from './serve-worker-files.js';

/** Parents cascaded per stage before the loop looks at agents' files again. */
export const CASCADE_CHUNK = 200;

export type RunHint = Exclude<Hint, { kind: 'runs' }>;

/**
 * Do the work one watcher hint points at, in one run. Returns hints to come back to (a cascade
 * backlog cut at CASCADE_CHUNK, directories that just got their watcher and need one look).
 * `ensureWatches` watches the run's new stage and worker directories and returns such hints.
 */
export async function serveHint(run: DaemonRun, h: RunHint, ensureWatches: (run: DaemonRun) => Promise<Hint[]>): Promise<Hint[]> {
  // Why: a run with a directory that is a link is not served (the last pass found it; see check-run-dirs.ts).
  if (run.unsafe !== undefined) return [];
  try {
    switch (h.kind) {
      case 'stages':
      case 'workers':
        // A new directory may have got files before its watcher existed: it is scanned once.
        return await ensureWatches(run);
      case 'requests':
        if (h.file !== undefined) {
          await serveRequestFile(run, h.file);
          return [];
        }
        run.requestsMore = await run.locks.with('requests', () => scanRequests(run));
        return [];
      case 'worker':
        if (h.file !== undefined) await serveWorkerFile(run, h.worker, h.file);
        else await serveWorkerDir(run, h.worker);
        return [];
      case 'completed':
        if (h.file !== undefined) {
          await cascadeNamed(run, h.stage, h.file);
          return [];
        }
        return (await run.locks.with(`completed\0${h.stage}`, () => cascadeCompleted(run, h.stage, CASCADE_CHUNK))).more ? [h] : [];
    }
  } catch (err) {
    run.log({ action: 'error', note: `handling a change in ${h.kind} failed; the next full pass retries`, error: errorLogOf(err) });
    return [];
  }
}
