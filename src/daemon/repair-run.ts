import { join } from 'node:path';
import { listDir } from '../core/store/atomic-write.js';
import { recoverMoving } from '../core/protocol/recover-moving.js';
import { UNSTAMPED_GRACE_MS, reapOne } from '../core/ops/reap-claims.js';
import { leaseVerdict } from '../core/protocol/lease.js';
import { readTicketAt } from '../core/store/read-ticket.js';
import { ticketIdOfFileName } from '../core/store/run-names.js';
import { claimedDir } from '../core/store/run-context.js';
import { TicketState } from '../core/model/states.js';
import { errorLogOf, isRealDir, nowMs, type DaemonRun } from './daemon-run.js';

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

/**
 * Return expired claims (the reaper); log what it did. What reapExpired does, with a memory:
 * a claim whose lease was read and found good is read again only once that lease has ended, or
 * once a watcher event named its file (the daemon deletes its entry then); `full` reads every
 * claim again. So a claim replaced under the same name by one with an earlier lease, whose
 * event was lost, is reaped by the next full pass at the latest (see docs/protocol.md).
 */
export async function reapRun(run: DaemonRun, full: boolean): Promise<void> {
  const ctx = run.ctx;
  const top = join(ctx.paths.dir, TicketState.claimed);
  if (!(await isRealDir(ctx.fs, top))) {
    run.claimDue.clear();
    return;
  }
  const seen = new Set<string>();
  for (const worker of await listDir(ctx, top)) {
    const dir = claimedDir(ctx, worker);
    for (const name of await listDir(ctx, dir)) {
      const ticketId = ticketIdOfFileName(name);
      if (ticketId === undefined) continue;
      const key = `${worker}/${name}`;
      seen.add(key);
      const due = run.claimDue.get(key);
      if (!full && due !== undefined && due > nowMs(run)) continue;
      const path = join(dir, name);
      const goodUntil = await leaseEnd(run, path, worker, ticketId);
      if (goodUntil !== undefined) {
        run.claimDue.set(key, goodUntil);
        continue;
      }
      run.claimDue.delete(key);
      // Expired, unstamped, too far ahead or unreadable: the core reaper decides (and reads again).
      const a = await reapOne(ctx, path, worker, ticketId, { unstampedGraceMs: UNSTAMPED_GRACE_MS });
      if (a) run.log({ action: `reaped: ${a.action}`, ticket_id: a.ticket_id, worker_id: a.worker_id, note: a.note });
    }
  }
  for (const key of run.claimDue.keys()) if (!seen.has(key)) run.claimDue.delete(key);
}

/** When the lease of a good claim ends (ms); undefined when the reaper must look at it now. */
async function leaseEnd(run: DaemonRun, path: string, worker: string, ticketId: string): Promise<number | undefined> {
  try {
    const t = await readTicketAt(run.ctx, path);
    if (t.ticket_id !== ticketId) return undefined;
    const verdict = leaseVerdict(t, { worker, now: nowMs(run), pipeline: run.ctx.config.pipeline });
    return verdict.kind === 'live' ? verdict.expiresAt : undefined;
  } catch {
    return undefined;
  }
}
