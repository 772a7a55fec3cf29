import { TqError, errnoCode, ioError, isTqError } from '../model/errors.js';
import { compareLanes, isLaneDue } from '../model/lanes.js';
import { claimableLanes, dropEmptyLane, lanesDirOf, stageLaneDir, type LaneDir } from '../store/pending-lanes.js';
import { forgetCursor, nextCandidate } from './claim-cursor.js';
import { refuseIfPaused } from './pause-run.js';
import { quarantineAndRestore } from './restore-ticket.js';
import { ticketReadError } from '../store/read-ticket.js';
import { checkTicketLocation, claimedLocation, pathOfLocation, type TicketLocation } from '../store/ticket-location.js';
import { TicketState } from '../model/states.js';
import { moveTicket } from '../protocol/move-ticket.js';
import { retryThroughMove } from '../protocol/retry-through-move.js';
import { cleanId } from '../model/ids.js';
import { leaseMsOf, requestedLeaseMs, stageConfig } from '../model/pipeline.js';
import { checkRealDir, claimedDir, ensureDir, intoDir, isKnownAbsent, stateDir, type RunCtx } from '../store/run-context.js';
import { ticketIdOfFileName } from '../store/run-names.js';
import { parseTicket, withHistory } from '../model/serialize-ticket.js';
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
  for (const lane of lanes) {
    // Why check a lane: one that is a link out of the run is never claimed through (UNSAFE_PATH); cached.
    if (lane.name !== undefined && !(await checkRealDir(ctx, lane.dir))) continue;
    const claimed = await claimFromDir(ctx, lane.dir, to, { stage, workerId, leaseMs });
    if (claimed) return claimed;
    if (lane.name !== undefined) {
      forgetCursor(ctx, lane.dir);
      await dropEmptyLane(ctx, stage, lane);
    }
  }
  return null;
}

/**
 * The pending directories of a stage a claim tries, in order: the stage directory alone when
 * there are no lanes (one cached lstat); else the due lanes and the stage directory by priority.
 */
export async function claimOrder(ctx: RunCtx, stage: string): Promise<LaneDir[]> {
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
    try {
      // RACE: exactly one claimer's rename succeeds; the others get ENOENT and move on.
      await intoDir(ctx, to, () => ctx.fs.rename(source, target), source);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') continue;
      throw ioError(err, 'claiming', source);
    }
    const stamped = await stampClaim(ctx, loc, c.stage, c.leaseMs);
    if (stamped) return { ticket: stamped, path: target };
  }
  return null;
}

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
 * Read the ticket we just renamed into claimed/<worker>/. A reaper may be adopting it (a
 * fenced move, so the file is briefly in moving/): wait for that move instead of failing.
 * Undefined if it is gone for good.
 */
async function readJustClaimed(ctx: RunCtx, loc: TicketLocation): Promise<{ text: string; ino: number } | undefined> {
  const path = pathOfLocation(ctx, loc);
  return retryThroughMove(ctx, loc.ticketId, 200, async () => {
    try {
      return await ctx.fs.readFileWithIno(path);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw ticketReadError(err, 'reading claimed ticket', path);
      return undefined;
    }
  });
}

/**
 * The directories a claim renames out of and into must be real directories of the run
 * (UNSAFE_PATH otherwise, before anything moves): pending/<stage>/ and, for the stamp, moving/.
 * False when pending/<stage>/ does not exist (nothing to claim). claimed/<worker>/ is checked
 * by ensureDir. All cached (checkRealDir), so a claim pays no lstat.
 */
export async function checkClaimDirs(ctx: RunCtx, pending: string): Promise<boolean> {
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
async function stampClaim(ctx: RunCtx, loc: TicketLocation, stage: string, leaseMs: number): Promise<Ticket | undefined> {
  const path = pathOfLocation(ctx, loc);
  try {
    if (loc.stage !== stage) throw new TqError('CORRUPT_TICKET', `${path}: ticket ${loc.ticketId} belongs to stage ${loc.stage}, but it was in pending/${stage}/`, { file: path });
    return await stampChecked(ctx, loc, leaseMs);
  } catch (err) {
    if (!isTqError(err, 'CORRUPT_TICKET') || err.file !== path) throw err;
    await quarantineAndRestore(ctx, loc, path, err.message);
    return undefined;
  }
}

/** stampClaim's work: CORRUPT_TICKET (naming the file) when the ticket disagrees with `loc`. */
async function stampChecked(ctx: RunCtx, loc: TicketLocation, leaseMs: number): Promise<Ticket | undefined> {
  if (loc.state !== TicketState.claimed) return undefined;
  const { worker } = loc;
  const path = pathOfLocation(ctx, loc);
  let read = await readJustClaimed(ctx, loc);
  if (read === undefined) return undefined;
  let ticket = parseTicket(read.text, path);
  checkTicketLocation(ticket, loc, path);
  // RACE: a reaper may have adopted the claim before we stamped it (same token): keep its stamp.
  if (ticket.claim?.worker_id === worker && ticket.status === 'claimed') return ticket;
  // RACE: the stamp is a fenced move like every other rewrite. A plain rename over the file
  // could recreate it while a reaper adopting the unstamped claim holds it in moving/; the
  // reaper's commit would then resurrect a second copy once we have moved ours on.
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const outcome = await moveTicket(ctx, loc, {
      to: { state: TicketState.claimed, worker },
      // Why: the version we just read and checked; the fence re-checks its inode.
      ...(read ? { known: { ...read, ticket } } : {}),
      build: (t) => (t.claim?.worker_id === worker && t.status === 'claimed' ? t : claimedVersion(t, worker, ctx.clock.now(), leaseMs)),
    });
    if (outcome.moved) return outcome.ticket;
    // Someone (a reaper adopting it, or undoing a stalled adoption) moved it between our read
    // and our fence: look again, and keep their stamp if they made one.
    read = await readJustClaimed(ctx, loc);
    if (read === undefined) return undefined;
    ticket = parseTicket(read.text, path);
    checkTicketLocation(ticket, loc, path);
    if (ticket.claim?.worker_id === worker && ticket.status === 'claimed') return ticket;
  }
  throw new TqError('IO_ERROR', `${path}: the claim could not be stamped (the ticket kept changing); run \`tq fsck\``, { file: path });
}
