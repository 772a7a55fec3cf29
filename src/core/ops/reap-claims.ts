import { join } from 'node:path';
import { errnoCode, isTqError } from '../model/errors.js';
import { ticketIdOfFileName } from '../store/run-names.js';
import { leaseMsOf, maxAttemptsOf } from '../model/pipeline.js';
import { moveTicket } from '../protocol/move-ticket.js';
import { leaseVerdict } from '../protocol/lease.js';
import { claimedVersion } from './claim-ticket.js';
import { quarantineFile } from '../store/quarantine.js';
import { checkTicketNamesItself, readTicketAt } from '../store/read-ticket.js';
import { withHistory } from '../model/serialize-ticket.js';
import { checkRealDir, claimedDir, type RunCtx } from '../store/run-context.js';
import { listDir } from '../store/atomic-write.js';
import type { Ticket } from '../model/ticket-schema.js';

export interface ReapAction {
  ticket_id: string;
  worker_id: string;
  /** skipped: the entry could not be reaped (the note says why); it is left as it is. */
  action: 'requeued' | 'failed' | 'adopted' | 'clamped' | 'quarantined' | 'skipped';
  note: string;
}

/**
 * Return expired claims to pending/ (attempts + 1), or to failed/ once max_attempts is
 * reached. Claims a crashed claimer never stamped are adopted (given a lease from now);
 * leases implausibly far in the future are clamped. Every move is fenced on the claim token,
 * so a worker that heartbeats or submits at the same moment wins or loses cleanly.
 */
export interface ReapOptions {
  /**
   * Leave a claim without a lease record alone while its file is younger than this (wall
   * clock, ctime): its claimer is most likely stamping it right now. Only a grace period, never
   * a judgement of state: after it, the claim is adopted whatever the file times say.
   */
  unstampedGraceMs?: number;
}

/** What the daemon and `tq reap` give a claimer to stamp its claim before adopting it. */
export const UNSTAMPED_GRACE_MS = 5000;

export async function reapExpired(ctx: RunCtx, opts: ReapOptions = {}): Promise<ReapAction[]> {
  // Why first: every reap moves through moving/ and may quarantine (quarantine/, .tmp/); if one
  // of them is a link out of the run, refuse the pass (UNSAFE_PATH) before anything moves.
  for (const dir of [ctx.paths.moving, ctx.paths.quarantine, ctx.paths.tmp]) await checkRealDir(ctx, dir);
  const actions: ReapAction[] = [];
  for (const worker of await listDir(ctx, join(ctx.paths.dir, 'claimed'))) {
    const dir = claimedDir(ctx, worker);
    let names: string[];
    try {
      names = await listDir(ctx, dir);
    } catch (err) {
      if (!isTqError(err, 'UNSAFE_PATH')) throw err;
      // A claimed/<worker> that is a link out of the run: reported, left alone, the pass goes on.
      actions.push({ ticket_id: '', worker_id: worker, action: 'skipped', note: err.message });
      continue;
    }
    for (const name of names) {
      const ticketId = ticketIdOfFileName(name);
      if (ticketId === undefined) continue;
      const action = await reapIsolated(ctx, join(dir, name), worker, ticketId, opts);
      if (action) actions.push(action);
    }
  }
  return actions;
}

/** Failures of the run as a whole, not of one entry: they stop a pass (the next one retries). */
const RUN_WIDE_ERRNOS = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EROFS', 'EMFILE', 'ENFILE']);

/**
 * reapOne for one entry of a pass. Why: one odd entry (a ticket of a stage the pipeline lacks, a
 * pending/<stage> that is a link) must not stop the pass, or every claim after it would never
 * be reaped. What is wrong with it is reported ('skipped', with the error) and the pass goes
 * on; only a failure of the whole run (disk full, I/O error) stops it.
 */
async function reapIsolated(ctx: RunCtx, path: string, worker: string, ticketId: string, opts: ReapOptions): Promise<ReapAction | undefined> {
  try {
    return await reapOne(ctx, path, worker, ticketId, opts);
  } catch (err) {
    if (RUN_WIDE_ERRNOS.has(errnoCode(isTqError(err) ? err.cause : err) ?? '')) throw err;
    return { ticket_id: ticketId, worker_id: worker, action: 'skipped', note: err instanceof Error ? err.message : String(err) };
  }
}

/** Reap one claimed file (what reapExpired does for each): the daemon's reaper calls it for claims it knows are due. */
export async function reapOne(ctx: RunCtx, path: string, worker: string, ticketId: string, opts: ReapOptions): Promise<ReapAction | undefined> {
  let ticket: Ticket;
  try {
    ticket = await readTicketAt(ctx, path);
    checkTicketNamesItself(ticket, path);
  } catch (err) {
    if (isTqError(err, 'IO_ERROR') && (err.cause as { code?: string } | undefined)?.code === 'ENOENT') return undefined;
    if (!isTqError(err, 'CORRUPT_TICKET')) throw err;
    await quarantineFile(ctx, path, err.message);
    return { ticket_id: ticketId, worker_id: worker, action: 'quarantined', note: err.message };
  }
  const now = ctx.clock.now();
  const at = now.toISOString();
  const stage = ticket.worker_type;
  const verdict = leaseVerdict(ticket, { worker, now: now.getTime(), pipeline: ctx.config.pipeline });
  if (verdict.kind === 'unstamped') {
    if (opts.unstampedGraceMs && (await youngerThan(ctx, path, opts.unstampedGraceMs))) return undefined;
    // A claimer died between its rename and its stamp (or the file was moved by hand).
    const outcome = await moveTicket(ctx, path, {
      build: (t) => claimedVersion(t, worker, now, leaseMsOf(ctx.config.pipeline, stage), 'adopted unstamped claim'),
    });
    return outcome.moved ? { ticket_id: ticketId, worker_id: worker, action: 'adopted', note: 'claim had no lease record; lease starts now' } : undefined;
  }
  if (verdict.kind === 'live') return undefined;
  const token = verdict.claim.token;
  if (verdict.kind === 'too_far') {
    const was = verdict.claim.lease_expires_at;
    const outcome = await moveTicket(ctx, path, {
      expectToken: token,
      build: (t) => ({
        ...t,
        claim: t.claim ? { ...t.claim, lease_expires_at: new Date(now.getTime() + leaseMsOf(ctx.config.pipeline, stage)).toISOString() } : null,
        history: withHistory(t, { at, event: 'lease clamped', worker_id: worker, note: `lease_expires_at was ${was}, too far ahead (clock skew or hand edit)` }),
      }),
    });
    return outcome.moved ? { ticket_id: ticketId, worker_id: worker, action: 'clamped', note: `lease_expires_at ${was} is too far in the future; clamped to one lease from now` } : undefined;
  }
  // Expired (or a lease_expires_at that does not parse).
  const attempts = ticket.attempts + 1;
  const max = maxAttemptsOf(ctx.config.pipeline, stage);
  const toFailed = attempts >= max;
  const note = `lease expired at ${verdict.claim.lease_expires_at} (attempt ${attempts} of ${max})`;
  const outcome = await moveTicket(ctx, path, {
    expectToken: token,
    build: (t) => ({
      ...t,
      status: toFailed ? 'failed' : 'pending',
      attempts,
      claim: toFailed ? t.claim : null,
      ...(toFailed ? { completed_at: at, worker_concerns: [...t.worker_concerns, { level: 'error' as const, message: `gave up after ${attempts} expired claims`, suggestion: 'requeue with `tq requeue` once the cause is fixed', at }] } : {}),
      history: withHistory(t, { at, event: 'reaped', from: 'claimed', to: toFailed ? 'failed' : 'pending', worker_id: worker, note }),
    }),
  });
  if (!outcome.moved) return undefined;
  return { ticket_id: ticketId, worker_id: worker, action: toFailed ? 'failed' : 'requeued', note };
}

async function youngerThan(ctx: RunCtx, path: string, ms: number): Promise<boolean> {
  try {
    return Date.now() - (await ctx.fs.lstat(path)).ctimeMs < ms;
  } catch {
    return false;
  }
}
