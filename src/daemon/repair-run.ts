import { recoverMoving } from '../core/recover-moving.js';
import { UNSTAMPED_GRACE_MS, reapExpired } from '../core/reap-claims.js';
import { errorLogOf, type DaemonRun } from './daemon-run.js';

/**
 * Finish what crashed movers left in moving/. It waits settle.movingMs to tell crashed moves
 * from live ones, so it runs beside the other work (one at a time per run), not in its way.
 */
export function startRecovery(run: DaemonRun): Promise<void> {
  if (run.recovering) return run.recovering;
  const p = (async () => {
    try {
      for (const a of await recoverMoving(run.ctx, run.settle.movingMs)) {
        run.log({ action: `recovered: ${a.action}`, ...(a.ticket_id ? { ticket_id: a.ticket_id } : {}), file: a.file });
      }
    } catch (err) {
      run.log({ action: 'error', note: 'recovering moving/ failed; retried on the next pass', error: errorLogOf(err) });
    } finally {
      run.recovering = undefined;
    }
  })();
  run.recovering = p;
  return p;
}

/** Return expired claims (the reaper); log what it did. */
export async function reapRun(run: DaemonRun): Promise<void> {
  for (const a of await reapExpired(run.ctx, { unstampedGraceMs: UNSTAMPED_GRACE_MS })) {
    run.log({ action: `reaped: ${a.action}`, ticket_id: a.ticket_id, worker_id: a.worker_id, note: a.note });
  }
}
