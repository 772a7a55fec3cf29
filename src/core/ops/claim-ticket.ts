import { TqError, errnoCode, ioError, isTqError } from '../model/errors.js';
import { compareLanes, isLaneDue } from '../model/lanes.js';
import { claimableLanes, dropEmptyLane, lanesDirOf, stageLaneDir, type LaneDir } from '../store/pending-lanes.js';
import { forgetCursor, nextCandidate } from './claim-cursor.js';
import { refuseIfPaused } from './pause-run.js';
import { quarantineAndRestore } from './restore-ticket.js';
import { claimedLocation, isUnstampedClaim, pathOfLocation, type TicketLocation } from '../store/ticket-location.js';
import { landedAnyway, requestChecked } from '../protocol/retried-request.js';
import { TicketState } from '../model/states.js';
import { moveTicket } from '../protocol/move-ticket.js';
import { retryThroughMove } from '../protocol/retry-through-move.js';
import { cleanId } from '../model/ids.js';
import { leaseMsOf, requestedLeaseMs, stageConfig } from '../model/pipeline.js';
import { checkRealDir, claimedDir, ensureDir, entryExists, intoDir, isKnownAbsent, stateDir, type RunCtx } from '../store/run-context.js';
import { ticketIdOfFileName } from '../store/run-names.js';
import { withHistory } from '../model/serialize-ticket.js';
import type { Ticket } from '../model/ticket-schema.js';

export interface ClaimOptions {
  stage: string;
  workerId: string;
  /** Lease duration ("10m") overriding the stage's default. */
  lease?: string | number;
}

export interface ClaimResult {
  ticket: Ticket;
  path: string;
}

/**
 * Claim one pending ticket of a stage: one rename(2) from a pending directory of the stage into
 * claimed/<worker>/. Losing a race is normal (ENOENT): try the next candidate. Returns null
 * when nothing is claimable; PAUSED when the stage or the run is paused (ops/pause-run.ts).
 * Order: the stage's lanes by priority, delayed lanes only once due (model/lanes.ts); within a
 * directory, any ticket (the front of the listing, shuffled). Cost does not depend on other
 * stages' backlog (pending is split by stage) nor on this one's: each directory is streamed,
 * never listed whole, and only the small lanes/ listing is read when the stage has lanes.
 */
export async function claimTicket(ctx: RunCtx, opts: ClaimOptions): Promise<ClaimResult | null> {
  const setup = await prepareClaim(ctx, opts);
  if (!setup) return null;
  let claimed = null as ClaimResult | null;
  await claimThroughLanes(ctx, setup, {
    wantMore: () => claimed === null,
    claimFrom: async (dir) => {
      claimed = await claimFromDir(ctx, dir, setup.to, setup);
      return claimed === null;
    },
  });
  return claimed;
}

/**
 * Go through the setup's lanes in claim order while `wantMore()`, claiming from each pending
 * directory with `claimFrom` (true: it ran empty). A lane that is a link out of the run is never
 * claimed through (UNSAFE_PATH; cached); a priority lane that ran empty is dropped. The one lane
 * walk of claimTicket and claimTickets.
 */
export async function claimThroughLanes(ctx: RunCtx, setup: ClaimSetup, c: { wantMore: () => boolean; claimFrom: (dir: string) => Promise<boolean> }): Promise<void> {
  for (const lane of setup.lanes) {
    if (!c.wantMore()) return;
    if (lane.name !== undefined && !(await checkRealDir(ctx, lane.dir))) continue;
    const emptied = await c.claimFrom(lane.dir);
    if (emptied && lane.name !== undefined) {
      forgetCursor(ctx, lane.dir);
      await dropEmptyLane(ctx, setup.stage, lane);
    }
  }
}

/** What every claim call decides before it renames anything (claimTicket and claimTickets). */
export interface ClaimSetup {
  stage: string;
  workerId: string;
  leaseMs: number;
  /** claimed/<worker>/, made if missing. */
  to: string;
  /** The pending directories to try, in claimOrder. */
  lanes: LaneDir[];
}

/**
 * Check the ids, the stage and the lease, refuse a paused stage (PAUSED), make claimed/<worker>/
 * and order the stage's lanes. Null when the stage has no pending/ directory (nothing to claim).
 */
export async function prepareClaim(ctx: RunCtx, opts: ClaimOptions): Promise<ClaimSetup | null> {
  const stage = cleanId(opts.stage, 'stage');
  const workerId = cleanId(opts.workerId, 'worker id');
  stageConfig(ctx.config.pipeline, stage);
  const leaseMs = opts.lease !== undefined ? requestedLeaseMs(ctx.config.pipeline, stage, opts.lease) : leaseMsOf(ctx.config.pipeline, stage);
  // Why before anything is made: a paused stage is answered without touching the run. Why the
  // synchronous test first: nothing is paused almost always, and an await costs a claim more than it.
  if (!isKnownAbsent(ctx, ctx.paths.paused)) await refuseIfPaused(ctx, stage);
  const to = claimedDir(ctx, workerId);
  // Why: rename's ENOENT must mean "someone else won", so the target directory must exist first.
  await ensureDir(ctx, to);
  if (!(await checkClaimDirs(ctx, stateDir(ctx, 'pending', stage)))) return null;
  const lanes = isKnownAbsent(ctx, lanesDirOf(ctx, stage)) ? [stageLaneDir(ctx, stage)] : await claimOrder(ctx, stage);
  return { stage, workerId, leaseMs, to, lanes };
}

/**
 * The pending directories of a stage a claim tries, in order: the stage directory alone when
 * there are no lanes (one cached lstat); else the due lanes and the stage directory by priority.
 */
async function claimOrder(ctx: RunCtx, stage: string): Promise<LaneDir[]> {
  const lanes = await claimableLanes(ctx, stage);
  if (lanes.length === 0) return [stageLaneDir(ctx, stage)];
  const now = ctx.clock.now().getTime();
  return [stageLaneDir(ctx, stage), ...lanes.filter((l) => isLaneDue(l, now))].sort(compareLanes);
}

/** Claim from one pending directory `from` into `to`; null when it has no ticket to give. */
export async function claimFromDir(ctx: RunCtx, from: string, to: string, c: { stage: string; workerId: string; leaseMs: number }): Promise<ClaimResult | null> {
  for (let tries = 0; tries < 1_000_000; tries += 1) {
    const name = await nextCandidate(ctx, from);
    if (name === undefined) return null;
    const source = `${from}/${name}`;
    const target = `${to}/${name}`;
    // Why from the name: readCandidates only hands out names whose ticket id is valid.
    const loc = claimedLocation(ticketIdOfFileName(name) as string, c.workerId);
    let retried = false;
    try {
      // RACE: exactly one claimer's rename succeeds; the others get ENOENT and move on. On NFS a
      // retried rename reports ENOENT after it succeeded: the ticket is then in our own worker
      // directory (a lost race leaves nothing there: the winner's target is its own). An ENOENT
      // while the ticket is still in pending/ was spurious: again.
      await requestChecked(() => intoDir(ctx, to, () => ctx.fs.rename(source, target), source), 'ENOENT', async () => {
        if (await landedAnyway(ctx, target)) {
          retried = true;
          return 'done';
        }
        return (await entryExists(ctx, source)) ? 'retry' : 'failed';
      });
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') continue;
      throw ioError(err, 'claiming', source);
    }
    const stamped = await stampClaim(ctx, loc, c.stage, c.leaseMs, retried);
    if (stamped) return { ticket: stamped, path: target };
  }
  return null;
}

/** The history event of a claim stamped by a reaper adopting it (ops/reap-claims.ts). */
export const ADOPTED_EVENT = 'adopted unstamped claim';

/** The claim record every claim (and every adoption of an unstamped claim) writes. */
export function claimedVersion(ticket: Ticket, workerId: string, now: Date, leaseMs: number, event = 'claimed'): Ticket {
  const claimCount = ticket.claim_count + 1;
  const at = now.toISOString();
  return {
    ...withoutDelay(ticket),
    status: 'claimed',
    claim_count: claimCount,
    claim: {
      worker_id: workerId,
      claimed_at: at,
      lease_expires_at: new Date(now.getTime() + leaseMs).toISOString(),
      // Why: deterministic from the claim count, so a claimer and a recoverer that both stamp
      // the same claim agree on its token.
      token: `${ticket.ticket_id}#${claimCount}`,
    },
    history: withHistory(ticket, { at, event, from: 'pending', to: 'claimed', worker_id: workerId }),
  };
}

/**
 * The ticket without its not_before. Why: a delay is over once the ticket is claimed (a release
 * or a retry sets its own). The same object when it has none (the usual case: no copy).
 */
function withoutDelay(ticket: Ticket): Ticket {
  if (ticket.not_before === undefined) return ticket;
  const { not_before: _delayOver, ...rest } = ticket;
  return rest;
}

/**
 * The directories a claim renames out of and into must be real directories of the run
 * (UNSAFE_PATH otherwise, before anything moves): pending/<stage>/ and, for the stamp, moving/.
 * False when pending/<stage>/ does not exist (nothing to claim). claimed/<worker>/ is checked
 * by ensureDir. All cached (checkRealDir), so a claim pays no lstat.
 */
async function checkClaimDirs(ctx: RunCtx, pending: string): Promise<boolean> {
  if (!(await checkRealDir(ctx, pending))) return false;
  await checkRealDir(ctx, ctx.paths.moving);
  return true;
}

/**
 * Write the claim into the ticket we just took (`loc`, in claimed/<worker>/). A file that is not
 * what its place says (a ticket of another stage than the pending/<stage>/ it was in, or content
 * that disagrees with its name) is quarantined, the ticket restored from registry/ if it is
 * nowhere else, and undefined returned: one bad file must not block the stage.
 */
async function stampClaim(ctx: RunCtx, loc: TicketLocation, stage: string, leaseMs: number, retried: boolean): Promise<Ticket | undefined> {
  const path = pathOfLocation(ctx, loc);
  try {
    if (loc.stage !== stage) throw new TqError('CORRUPT_TICKET', `${path}: ticket ${loc.ticketId} belongs to stage ${loc.stage}, but it was in pending/${stage}/`, { file: path });
    return await stampChecked(ctx, loc, leaseMs, retried);
  } catch (err) {
    if (!isTqError(err, 'CORRUPT_TICKET') || err.file !== path) throw err;
    await quarantineAndRestore(ctx, loc, path, err.message);
    return undefined;
  }
}

/**
 * stampClaim's work: CORRUPT_TICKET (naming the file) when the ticket disagrees with `loc`. The
 * stamp is a fenced move like every other rewrite, and reads the ticket after its fence (one
 * read, one parse). RACE: a plain rename over the file could recreate it while a reaper adopting
 * the unstamped claim holds it in moving/; the reaper's commit would then resurrect a second copy.
 * Undefined when the claim is not ours after all: already stamped by a claim of our worker id
 * that is not ours (`retried`: our rename reported ENOENT, so only a stamp we make counts), or
 * gone for good.
 */
async function stampChecked(ctx: RunCtx, loc: TicketLocation, leaseMs: number, retried: boolean): Promise<Ticket | undefined> {
  if (loc.state !== TicketState.claimed) return undefined;
  const { worker } = loc;
  const path = pathOfLocation(ctx, loc);
  for (let attempt = 0; attempt < 20; attempt += 1) {
    // Why wait through a move in flight: a reaper may be adopting it (the file is briefly in moving/).
    const outcome = await retryThroughMove(ctx, loc.ticketId, 200, async () => {
      const o = await moveTicket(ctx, loc, {
        to: { state: TicketState.claimed, worker },
        build: (t) => (isUnstampedClaim(t, loc) ? claimedVersion(t, worker, ctx.clock.now(), leaseMs) : t),
      });
      return !o.moved && o.reason === 'gone' ? undefined : o;
    });
    if (outcome === undefined) return undefined;
    if (!outcome.moved) continue;
    if (outcome.ticket !== outcome.previous) return outcome.ticket;
    // RACE: stamped before us. By a reaper that adopted our unstamped claim (same token): keep
    // its stamp. By a claimer of the same worker id: that claim is its, not ours.
    return !retried && wasAdopted(outcome.ticket) ? outcome.ticket : undefined;
  }
  throw new TqError('IO_ERROR', `${path}: the claim could not be stamped (the ticket kept changing); run \`tq fsck\``, { file: path });
}

/** Was the current claim of `t` stamped by a reaper adopting it (not by its claimer)? */
function wasAdopted(t: Ticket): boolean {
  for (let i = t.history.length - 1; i >= 0; i -= 1) {
    const h = t.history[i];
    if (h?.to === TicketState.claimed && h.from === TicketState.pending) return h.event === ADOPTED_EVENT;
  }
  return false;
}
