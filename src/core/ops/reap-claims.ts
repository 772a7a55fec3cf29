import { join } from 'node:path';
import { errnoCode, isTqError } from '../model/errors.js';
import { ticketIdOfFileName } from '../store/run-names.js';
import { leaseMsOf, maxAttemptsOf, retryDelayMs } from '../model/pipeline.js';
import { roundNotBefore } from '../model/lanes.js';
import { moveTicket, type DuplicateOutcome, type MoveOutcome } from '../protocol/move-ticket.js';
import { leaseVerdict } from '../protocol/lease.js';
import { ADOPTED_EVENT, claimedVersion } from './claim-ticket.js';
import { quarantineAndRestore } from './restore-ticket.js';
import { readTicketAtLocation } from '../store/read-ticket.js';
import { claimedLocation, isUnstampedClaim, pathOfLocation, type TicketLocation } from '../store/ticket-location.js';
import { TicketState } from '../model/states.js';
import { withHistory } from '../model/serialize-ticket.js';
import { checkRealDir, claimedDir, type RunCtx } from '../store/run-context.js';
import { listDir } from '../store/atomic-write.js';
import type { Ticket } from '../model/ticket-schema.js';

export interface ReapAction {
  ticket_id: string;
  worker_id: string;
  /** `skipped`: the entry could not be handled (note says why); the pass went on. */
  action: 'requeued' | 'failed' | 'adopted' | 'clamped' | 'quarantined' | 'skipped';
  note: string;
}

/**
 * Return expired claims to pending/ (attempts + 1, not before the stage's retry backoff), or to
 * failed/ once max_attempts is reached. Claims a crashed claimer never stamped are adopted (given a lease from now);
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
  for (const worker of await listDir(ctx, join(ctx.paths.dir, TicketState.claimed))) {
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

/**
 * Reap one claimed file (what reapExpired does for each): the daemon's reaper calls it for claims
 * it knows are due. `path` must be claimed/<worker>/<ticketId>.json; the file acted on is built
 * from the validated `worker` and `ticketId` (invalid ones are left for fsck: undefined). A file
 * that is no regular file, does not parse, or disagrees with its location is quarantined and the
 * ticket restored from registry/ if it is nowhere else; a duplicate of a finished ticket is
 * quarantined, never reaped back into pending/.
 */
export async function reapOne(ctx: RunCtx, path: string, worker: string, ticketId: string, opts: ReapOptions): Promise<ReapAction | undefined> {
  let loc: TicketLocation;
  try {
    loc = claimedLocation(ticketId, worker);
  } catch (err) {
    if (isTqError(err, 'INVALID_ID')) return undefined;
    throw err;
  }
  const file = pathOfLocation(ctx, loc);
  const base = { ticket_id: loc.ticketId, worker_id: worker };
  try {
    const ticket = await readClaim(ctx, loc, file);
    if (ticket === undefined) return undefined;
    const outcome = await reapClaim(ctx, loc, ticket, opts);
    if (outcome === undefined || outcome.moved === undefined) return outcome?.action;
    if (outcome.moved.moved) return outcome.action;
    if (outcome.moved.reason !== 'finished') return undefined;
    const d = outcome.moved;
    return { ...base, action: 'quarantined', note: `a duplicate: ticket ${loc.ticketId} is already ${d.state} (${d.existing}); this copy ${d.quarantined ? `was quarantined as ${d.quarantined}` : 'is gone'}` };
  } catch (err) {
    if (!isTqError(err, 'CORRUPT_TICKET') || err.file !== file) throw err;
    const r = await quarantineAndRestore(ctx, loc, file, err.message);
    return { ...base, action: 'quarantined', note: `${err.message}${r.restored ? `; ticket restored to ${r.restored} from registry/` : ''}` };
  }
}

/** The claimed ticket at `file`, checked against `loc` (CORRUPT_TICKET naming the file otherwise); undefined when gone. */
async function readClaim(ctx: RunCtx, loc: TicketLocation, file: string): Promise<Ticket | undefined> {
  try {
    // Why no lstat first: the Fs read never follows a link nor blocks on a FIFO, and an entry
    // that is not a regular file is refused as CORRUPT_TICKET naming it (read-ticket.ts).
    return (await readTicketAtLocation(ctx, loc)).ticket;
  } catch (err) {
    if (isTqError(err, 'IO_ERROR') && errnoCode(err.cause) === 'ENOENT') return undefined;
    throw err;
  }
}

type Reaped = { action?: ReapAction; moved?: MoveOutcome | DuplicateOutcome } | undefined;

/** Decide from the lease, and move: adopt, clamp, requeue or fail. */
async function reapClaim(ctx: RunCtx, loc: TicketLocation, ticket: Ticket, opts: ReapOptions): Promise<Reaped> {
  if (loc.state !== TicketState.claimed) return undefined;
  const { worker } = loc;
  const file = pathOfLocation(ctx, loc);
  const now = ctx.clock.now();
  const at = now.toISOString();
  const stage = loc.stage;
  const base = { ticket_id: loc.ticketId, worker_id: worker };
  const stayClaimed = { state: TicketState.claimed, worker };
  const verdict = leaseVerdict(ticket, { worker, now: now.getTime(), pipeline: ctx.config.pipeline });
  if (verdict.kind === 'unstamped') {
    if (opts.unstampedGraceMs && (await youngerThan(ctx, file, opts.unstampedGraceMs))) return undefined;
    // A claimer died between its rename and its stamp (or the file was moved by hand).
    // RACE: its claimer may stamp it between our read and our fence: keep that stamp (build
    // returns the ticket as it is; the move puts it back), or the claimer's token would change.
    const moved = await moveTicket(ctx, loc, { to: stayClaimed, build: (t) => (isUnstampedClaim(t, loc) ? claimedVersion(t, worker, now, leaseMsOf(ctx.config.pipeline, stage), ADOPTED_EVENT) : t) });
    if (moved.moved && moved.ticket === moved.previous) return undefined;
    return { moved, action: { ...base, action: 'adopted', note: 'claim had no lease record; lease starts now' } };
  }
  if (verdict.kind === 'live') return undefined;
  const token = verdict.claim.token;
  if (verdict.kind === 'too_far') {
    const was = verdict.claim.lease_expires_at;
    const moved = await moveTicket(ctx, loc, {
      to: stayClaimed,
      expectToken: token,
      build: (t) => ({
        ...t,
        claim: t.claim ? { ...t.claim, lease_expires_at: new Date(now.getTime() + leaseMsOf(ctx.config.pipeline, stage)).toISOString() } : null,
        history: withHistory(t, { at, event: 'lease clamped', worker_id: worker, note: `lease_expires_at was ${was}, too far ahead (clock skew or hand edit)` }),
      }),
    });
    return { moved, action: { ...base, action: 'clamped', note: `lease_expires_at ${was} is too far in the future; clamped to one lease from now` } };
  }
  // Expired (or a lease_expires_at that does not parse).
  const attempts = ticket.attempts + 1;
  const max = maxAttemptsOf(ctx.config.pipeline, stage);
  const toFailed = attempts >= max;
  // Why the retry policy here too: an expired lease is a failed attempt (a worker that crashed,
  // hung or lost its machine), and retrying it at once would hammer whatever made it fail.
  const delayMs = toFailed ? 0 : retryDelayMs(ctx.config.pipeline, stage, attempts);
  const notBefore = delayMs > 0 ? roundNotBefore(now.getTime(), delayMs) : undefined;
  const note = `lease expired at ${verdict.claim.lease_expires_at} (attempt ${attempts} of ${max})${notBefore ? `; retried from ${notBefore}` : ''}`;
  const moved = await moveTicket(ctx, loc, {
    to: { state: toFailed ? TicketState.failed : TicketState.pending },
    expectToken: token,
    build: (t) => ({
      ...t,
      status: toFailed ? 'failed' : 'pending',
      attempts,
      claim: toFailed ? t.claim : null,
      ...(toFailed ? {} : { not_before: notBefore }),
      ...(toFailed ? { completed_at: at, worker_concerns: [...t.worker_concerns, { level: 'error' as const, message: `gave up after ${attempts} expired claims`, suggestion: 'requeue with `tq requeue` once the cause is fixed', at }] } : {}),
      history: withHistory(t, { at, event: 'reaped', from: 'claimed', to: toFailed ? 'failed' : 'pending', worker_id: worker, note }),
    }),
  });
  return { moved, action: { ...base, action: toFailed ? 'failed' : 'requeued', note } };
}

async function youngerThan(ctx: RunCtx, path: string, ms: number): Promise<boolean> {
  try {
    return Date.now() - (await ctx.fs.lstat(path)).ctimeMs < ms;
  } catch {
    return false;
  }
}
