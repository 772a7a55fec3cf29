import type { Dir } from 'node:fs';
import { TqError, errnoCode, ioError, isTqError } from '../model/errors.js';
import { quarantineAndRestore } from './restore-ticket.js';
import { ticketReadError } from '../store/read-ticket.js';
import { checkTicketLocation, claimedLocation, pathOfLocation, type TicketLocation } from '../store/ticket-location.js';
import { TicketState } from '../model/states.js';
import { moveTicket } from '../protocol/move-ticket.js';
import { retryThroughMove } from '../protocol/retry-through-move.js';
import { cleanId, validateId } from '../model/ids.js';
import { leaseMsOf, requestedLeaseMs, stageConfig } from '../model/pipeline.js';
import { checkRealDir, claimedDir, ensureDir, intoDir, stateDir, type RunCtx } from '../store/run-context.js';
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

/** How many directory entries one claim looks at before giving up on a contended batch. */
const CANDIDATE_BATCH = 256;

/**
 * Claim one pending ticket of a stage: one rename(2) from pending/<stage>/ into
 * claimed/<worker>/. Losing a race is normal (ENOENT): try the next candidate. Returns null
 * when nothing is claimable. Cost does not depend on other stages' backlog (pending is split
 * by stage) and the directory is streamed, never listed whole.
 */
export async function claimTicket(ctx: RunCtx, opts: ClaimOptions): Promise<ClaimResult | null> {
  const stage = cleanId(opts.stage, 'stage');
  const workerId = cleanId(opts.workerId, 'worker id');
  stageConfig(ctx.config.pipeline, stage);
  const leaseMs = opts.lease !== undefined ? requestedLeaseMs(ctx.config.pipeline, stage, opts.lease) : leaseMsOf(ctx.config.pipeline, stage);
  const from = stateDir(ctx, 'pending', stage);
  const to = claimedDir(ctx, workerId);
  // Why: rename's ENOENT must mean "someone else won", so the target directory must exist first.
  await ensureDir(ctx, to);
  if (!(await checkClaimDirs(ctx, from))) return null;

  for (let tries = 0; tries < 1_000_000; tries += 1) {
    const name = await nextCandidate(ctx, from);
    if (name === undefined) return null;
    const source = `${from}/${name}`;
    const target = `${to}/${name}`;
    // Why from the name: readCandidates only hands out names whose ticket id is valid.
    const loc = claimedLocation(ticketIdOfFileName(name) as string, workerId);
    try {
      // RACE: exactly one claimer's rename succeeds; the others get ENOENT and move on.
      await intoDir(ctx, to, () => ctx.fs.rename(source, target));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') continue;
      throw ioError(err, 'claiming', source);
    }
    const stamped = await stampClaim(ctx, loc, stage, leaseMs);
    if (stamped) return { ticket: stamped, path: target };
  }
  return null;
}

/**
 * Per run context and pending directory: names recently read (a hint shared by the claim loops
 * of one process, so that they try different tickets instead of all fighting over the first few
 * names) and the open directory stream they came from. The directory stays the truth: a stale
 * name just fails its rename with ENOENT.
 * Why keep the stream open: the next batch continues where the last one stopped instead of
 * reading the directory from its start again. Once the front of a big directory has been
 * claimed, re-reading from the start means scanning every emptied block first (measured 5.5×
 * the claim cost on a drained 1,000,000-entry directory). At the end of the stream it is closed
 * and the next batch starts over, which picks up tickets that arrived behind the cursor.
 */
interface Cursor {
  names: string[];
  dir?: Dir;
  /** Closes an unused stream (an open Dir that gets garbage-collected makes Node print a warning). */
  idle?: ReturnType<typeof setTimeout>;
  /** When a claim last took a name from this cursor (ms). */
  usedAt: number;
  /** The read of the next batch, shared by the loops that run out of names meanwhile. */
  refill?: Promise<void>;
}

/** An open directory stream nobody has read from for this long is closed. */
const STREAM_IDLE_MS = 2000;

const cursors = new WeakMap<RunCtx, Map<string, Cursor>>();

async function nextCandidate(ctx: RunCtx, dir: string): Promise<string | undefined> {
  let byDir = cursors.get(ctx);
  if (!byDir) cursors.set(ctx, (byDir = new Map()));
  let cursor = byDir.get(dir);
  if (!cursor) byDir.set(dir, (cursor = { names: [], usedAt: 0 }));
  cursor.usedAt = Date.now();
  // Why at most two refills: one may continue an old stream that has just ended; the second
  // starts from the top. Empty after both means the directory has nothing to claim.
  for (let refills = 0; cursor.names.length === 0 && refills < 2; refills += 1) {
    const c = cursor;
    c.refill ??= readCandidates(ctx, dir, c).finally(() => {
      c.refill = undefined;
    });
    await c.refill;
  }
  return cursor.names.shift();
}

/** Read up to CANDIDATE_BATCH ticket names from the directory stream (opened if needed), shuffled. */
async function readCandidates(ctx: RunCtx, dir: string, cursor: Cursor): Promise<void> {
  if (!cursor.dir) {
    try {
      cursor.dir = await ctx.fs.opendir(dir);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return;
      throw ioError(err, 'listing', dir);
    }
  }
  const handle = cursor.dir;
  const names: string[] = [];
  let ended = false;
  try {
    while (names.length < CANDIDATE_BATCH) {
      const entry = await handle.read();
      if (entry === null) {
        ended = true;
        break;
      }
      // Why: only regular files are tickets; a symlink, a directory, a FIFO or a socket named
      // like one is never taken (fsck reports it). (Node resolves an unknown d_type by lstat.)
      // Why valid ids only: a path is built from the name; an invalid one is left for fsck to report.
      if (entry.isFile() && isValidTicketName(entry.name)) names.push(entry.name);
    }
  } catch (err) {
    ended = true;
    throw ioError(err, 'listing', dir);
  } finally {
    if (cursor.idle !== undefined) clearTimeout(cursor.idle);
    cursor.idle = undefined;
    if (ended) {
      cursor.dir = undefined;
      await handle.close().catch(() => undefined);
    } else {
      const closeIfIdle = (): void => {
        cursor.idle = undefined;
        if (cursor.dir !== handle || cursor.refill) return;
        const idleFor = Date.now() - cursor.usedAt;
        if (idleFor < STREAM_IDLE_MS) {
          // Still in use (a slow batch): look again when it could have become idle.
          cursor.idle = setTimeout(closeIfIdle, STREAM_IDLE_MS - idleFor);
          cursor.idle.unref();
          return;
        }
        cursor.dir = undefined;
        handle.close().catch(() => undefined);
      };
      cursor.idle = setTimeout(closeIfIdle, STREAM_IDLE_MS);
      cursor.idle.unref();
    }
  }
  // Why: concurrent claimers see the same first entries; shuffling spreads them out.
  for (let i = names.length - 1; i > 0; i -= 1) {
    const j = Math.floor(Math.random() * (i + 1));
    [names[i], names[j]] = [names[j] as string, names[i] as string];
  }
  cursor.names.push(...names);
}

/** The claim record every claim (and every adoption of an unstamped claim) writes. */
export function claimedVersion(ticket: Ticket, workerId: string, now: Date, leaseMs: number, event = 'claimed'): Ticket {
  const claimCount = ticket.claim_count + 1;
  const at = now.toISOString();
  return {
    ...ticket,
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

function isValidTicketName(name: string): boolean {
  const id = ticketIdOfFileName(name);
  if (id === undefined) return false;
  try {
    validateId(id, 'ticket id');
    return true;
  } catch {
    return false;
  }
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
