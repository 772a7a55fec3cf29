import { cascadeCompleted, cascadeNamed } from './cascade-completed.js';
import type { Hint } from './classify-hint.js';
import { errorLogOf, type DaemonRun } from './daemon-run.js';
import { serveRequests } from './serve-requests.js';
import { serveWorkerDir } from './serve-worker-files.js';

/** Parents cascaded per stage before the loop looks at agents' files again. */
export const CASCADE_CHUNK = 200;

export type RunHint = Exclude<Hint, { kind: 'runs' }>;

/**
 * Do the work one watcher hint points at, in one run. Returns hints to come back to (a cascade
 * backlog cut at CASCADE_CHUNK, stage directories that just got their watcher).
 */
export async function serveHint(run: DaemonRun, h: RunHint, watchCompletedDirs: (run: DaemonRun) => Promise<string[]>): Promise<Hint[]> {
  try {
    switch (h.kind) {
      case 'stages':
        // A new stage directory may have got files before its watcher existed: scan it once.
        return (await watchCompletedDirs(run)).map((stage) => ({ kind: 'completed', run: h.run, stage }));
      case 'requests':
        await serveRequests(run);
        return [];
      case 'worker':
        await serveWorkerDir(run, h.worker);
        return [];
      case 'completed':
        if (h.file !== undefined) {
          await cascadeNamed(run, h.stage, h.file);
          return [];
        }
        return (await cascadeCompleted(run, h.stage, CASCADE_CHUNK)).more ? [h] : [];
    }
  } catch (err) {
    run.log({ action: 'error', note: `handling a change in ${h.kind} failed; the next full pass retries`, error: errorLogOf(err) });
    return [];
  }
}
