import { dirname } from 'node:path';
import { errnoCode, ioError } from '../model/errors.js';
import { nonce } from '../model/ids.js';
import { checkRealDir, ensureDir, ensureParent, intoDir, type RunCtx } from '../store/run-context.js';
import { parseTicket, serializeTicket } from '../model/serialize-ticket.js';
import type { Ticket } from '../model/ticket-schema.js';
import { TicketState, isFinishedState, type FinishedState } from '../model/states.js';
import { readIfExists, syncDirIfDurable, unlinkIfExists } from '../store/atomic-write.js';
import { MovingKind, movingFileName } from '../store/run-names.js';
import { quarantineFile } from '../store/quarantine.js';
import { checkTicketLocation, pathOfLocation, targetLocation, type MoveTarget, type TicketLocation } from '../store/ticket-location.js';
import { finishedCopyOf } from './locate-ticket.js';
import { ticketReadError } from '../store/read-ticket.js';

export type MoveOutcome =
  | { moved: true; ticket: Ticket; path: string; previous: Ticket }
  /** The source file was gone when we tried to take it: someone else moved the ticket first. */
  | { moved: false; reason: 'gone' }
  /** The file at the source changed between our read and our move; nothing was changed. */
  | { moved: false; reason: 'changed' };

/**
 * A finished copy of the ticket (`state`, at `existing`) already exists: the move would have
 * replaced or duplicated it, so the source was a duplicate; it was moved to quarantine/
 * (`quarantined`, unless it vanished meanwhile). Nothing else changed.
 */
export interface DuplicateOutcome {
  moved: false;
  reason: 'finished';
  state: FinishedState;
  existing: string;
  quarantined?: string;
}

export interface MoveOptions {
  /** Where the ticket goes: with the source's validated id, the only input of the target path. */
  to: MoveTarget;
  /**
   * Decide the new ticket from the current one; throw to abort with nothing changed. It must
   * agree with `to` (status, id, stage, claim holder): checked before anything is moved.
   */
  build: (current: Ticket) => Ticket;
  /** Only move if the source still holds this claim token (fencing). */
  expectToken?: string;
  /**
   * The source's content and inode as the caller just read them (saves a second read). Safe:
   * the fence still checks that the inode it takes is this one.
   */
  known?: { text: string; ino: number; ticket?: Ticket };
  /**
   * Accept a source whose `status` field disagrees with its directory (its id, stage and holder
   * must still agree). Why: fsck requeues a ticket moved by hand, whose status still names the
   * directory it was taken from; the move puts content and place back in agreement.
   */
  acceptStaleStatus?: boolean;
}

export function movingNames(ctx: RunCtx, ticketId: string, n: string): { next: string; prev: string } {
  return {
    next: `${ctx.paths.moving}/${movingFileName(ticketId, n, MovingKind.next)}`,
    prev: `${ctx.paths.moving}/${movingFileName(ticketId, n, MovingKind.prev)}`,
  };
}

/**
 * Move the ticket at location `from` to `opts.to`, so that no crash or race can lose it,
 * duplicate it, publish it half-written, or replace a finished ticket:
 *
 *   1. read the source (and its inode); its content must agree with `from` (else CORRUPT_TICKET,
 *      naming the file and field, nothing changed: the caller decides about quarantine)
 *   2. write the complete new ticket to moving/<id>~<n>.next.json
 *   3. rename the source to moving/<id>~<n>.prev.json   <- the fence: exactly one mover wins
 *   4. check the inode we took is the one we read
 *   5. into pending/ or a finished state: check no finished copy of the id exists elsewhere
 *   6. commit (commitDraft): rename .next into claimed/ or pending/; link .next into a finished
 *      state, then unlink .next (a finished ticket already there: EEXIST, never replaced)
 *   7. unlink .prev
 *
 * A crash after 3 leaves next+prev (recovery finishes the move); after 6 leaves prev alone
 * (recovery removes it). Before 3, nothing changed. A finished copy found at 5 or 6 means the
 * source was a duplicate: it goes to quarantine/ (DuplicateOutcome).
 */
export async function moveTicket(ctx: RunCtx, from: TicketLocation, opts: MoveOptions, retries = 3): Promise<MoveOutcome | DuplicateOutcome> {
  const plan = await planMove(ctx, from, opts);
  if ('moved' in plan) return plan;
  const { source, target, names, nextText, done } = plan;
  // Why before the fence: a target directory that is a link out of the run (UNSAFE_PATH) must
  // stop the move while the ticket is still where it was, not strand it in moving/.
  await checkRealDir(ctx, dirname(target));
  await ensureDir(ctx, ctx.paths.moving);
  try {
    await intoDir(ctx, ctx.paths.moving, () => ctx.fs.writeFileExclusive(names.next, nextText, ctx.durable));
  } catch (err) {
    throw ioError(err, 'writing', names.next);
  }
  try {
    // RACE: the fence. Whoever renames the source first owns the ticket; the loser sees ENOENT.
    await ctx.fs.rename(source, names.prev);
  } catch (err) {
    await unlinkIfExists(ctx, names.next).catch(() => undefined);
    if (errnoCode(err) === 'ENOENT') return { moved: false, reason: 'gone' };
    throw ioError(err, 'moving', source);
  }
  let takenIno: number;
  try {
    takenIno = (await ctx.fs.lstat(names.prev)).ino;
  } catch (err) {
    // RACE: only recovery removes a .prev: it saw next+prev (we were stalled past its settle
    // time) and finished our move for us.
    if (errnoCode(err) === 'ENOENT' && (await holds(ctx, target, nextText))) return done;
    throw ioError(err, 'checking', names.prev);
  }
  if (takenIno !== plan.ino) {
    // RACE: the source was replaced after we read it (a re-claim, a heartbeat). Put back what we
    // took, untouched, and let the caller decide again from the new content.
    await ctx.fs.rename(names.prev, source).catch((err: unknown) => {
      throw ioError(err, 'restoring', source);
    });
    await unlinkIfExists(ctx, names.next).catch(() => undefined);
    return { moved: false, reason: 'changed' };
  }
  if (plan.toLoc.state !== TicketState.claimed) {
    // Why after the fence: we hold the source now, so the copy we find cannot be it. Moving a
    // duplicate of a finished ticket into pending/ or another finished state would make two
    // tickets of one. (Two duplicates racing here can both pass: fsck keeps the finished copy.)
    const other = await finishedCopyOf(ctx, from.ticketId, [source, target]);
    if (other) return setAsideDuplicate(ctx, names, source, other);
  }
  return commitMove(ctx, from, opts, retries, plan);
}

/** What a move will do, decided before anything changes (steps 1 and 2 of moveTicket). */
interface MovePlan {
  source: string;
  target: string;
  toLoc: TicketLocation;
  names: { next: string; prev: string };
  nextText: string;
  ino: number;
  done: MoveOutcome;
}

/** Read and check the source, build and check the new version: a plan, or why there is nothing to move. */
async function planMove(ctx: RunCtx, from: TicketLocation, opts: MoveOptions): Promise<MovePlan | MoveOutcome> {
  const source = pathOfLocation(ctx, from);
  // Why: never move a file out of a directory that is a link out of the run (UNSAFE_PATH).
  if (!(await checkRealDir(ctx, dirname(source)))) return { moved: false, reason: 'gone' };
  let text: string;
  let ino: number;
  if (opts.known) ({ text, ino } = opts.known);
  else {
    try {
      ({ text, ino } = await ctx.fs.readFileWithIno(source));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return { moved: false, reason: 'gone' };
      // Why CORRUPT_TICKET: a FIFO, socket or directory named like the ticket (never opened, see
      // fs-layer.ts), or one over the size limit, is no ticket: the caller quarantines it.
      throw ticketReadError(err, 'reading', source);
    }
  }
  const current = opts.known?.ticket ?? parseTicket(text, source);
  // Why before anything else: a ticket's JSON is only a claim about itself; nothing is moved on
  // the word of a file that contradicts where it is.
  checkTicketLocation(opts.acceptStaleStatus ? { ...current, status: from.state } : current, from, source);
  if (opts.expectToken !== undefined && current.claim?.token !== opts.expectToken) return { moved: false, reason: 'changed' };
  const next = opts.build(current);
  // Why from `next`: into pending/, the lane is the new version's (its priority and not_before).
  const toLoc = targetLocation(from.ticketId, opts.to, next);
  const target = pathOfLocation(ctx, toLoc);
  // Why: the target path comes from `from` and `to` only; the new content must say the same.
  checkTicketLocation(next, toLoc, target);
  return {
    source,
    target,
    toLoc,
    names: movingNames(ctx, from.ticketId, nonce()),
    nextText: serializeTicket(next),
    ino,
    done: { moved: true, ticket: next, path: target, previous: current },
  };
}

/** Steps 6 and 7 of moveTicket: the commit, and what a stalled or duplicate move meets there. */
async function commitMove(ctx: RunCtx, from: TicketLocation, opts: MoveOptions, retries: number, plan: MovePlan): Promise<MoveOutcome | DuplicateOutcome> {
  const { source, target, names, nextText, done } = plan;
  const finished = isFinishedState(plan.toLoc.state);
  await ensureParent(ctx, target);
  try {
    // Why: the commit point. From here the ticket is in its new state.
    const committed = await commitDraft(ctx, names.next, target, finished);
    if (committed === 'exists') {
      // RACE: a recoverer that found us stalled may have committed our own version already.
      if (await holds(ctx, target, nextText)) {
        await unlinkIfExists(ctx, names.next).catch(() => undefined);
        await unlinkIfExists(ctx, names.prev).catch(() => undefined);
        return done;
      }
      return setAsideDuplicate(ctx, names, source, { state: plan.toLoc.state as FinishedState, path: target });
    }
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') {
      // RACE: .next vanished under a mover stalled past recovery's settle time. Either recovery
      // finished our move (the target holds our version) or it dropped our draft before our
      // fence: then we hold only .prev: put it back untouched and start over.
      if (await holds(ctx, target, nextText)) return done;
      if (retries > 0) {
        // Why: whether we put it back or a recoverer already did, the ticket is at `source` again.
        await putBack(ctx, names.prev, source);
        return moveTicket(ctx, from, { ...opts, known: undefined }, retries - 1);
      }
    }
    // Not committed: the ticket is safe in moving/ as next+prev; recovery will finish the move.
    throw ioError(err, 'moving into place', target);
  }
  if (ctx.durable && !finished) {
    // Why both at once: independent directories; each fsync waits for a journal commit.
    // (commitDraft synced a finished target itself, before dropping .next.)
    await Promise.all([syncDirIfDurable(ctx, dirname(target)), syncDirIfDurable(ctx, ctx.paths.moving)]);
  }
  await unlinkIfExists(ctx, names.prev).catch(() => undefined);
  return done;
}

/**
 * The commit of a move: publish the complete new version `next` (a file in moving/) at
 * `target`. Into a finished state (`finished`): link, then unlink `next`, so that a finished
 * ticket already at `target` is never replaced ('exists'; nothing changed). Into claimed/ or
 * pending/: rename (cheaper; a file there is an older copy of the same ticket, and a claim's own
 * rename re-checks pending/). Other errors are thrown as they come (callers tell ENOENT apart).
 */
export async function commitDraft(ctx: RunCtx, next: string, target: string, finished: boolean): Promise<'committed' | 'exists'> {
  if (!finished) {
    await intoDir(ctx, dirname(target), () => ctx.fs.rename(next, target), next);
    return 'committed';
  }
  try {
    // Why link, not rename: rename replaces whatever is at the target without a word.
    await intoDir(ctx, dirname(target), () => ctx.fs.link(next, target), next);
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') return 'exists';
    throw err;
  }
  // Why the sync first: a power cut must not keep the unlink below and lose the link.
  await syncDirIfDurable(ctx, dirname(target));
  // Why: committed; .next is only a second name of the target now. A crash before this unlink
  // leaves next+prev with the target holding next's content: recovery sees EEXIST, finds its
  // own version there, and removes both.
  await unlinkIfExists(ctx, next);
  return 'committed';
}

/**
 * The ticket we took (`names.prev`) is a duplicate of the finished copy `other`: move it to
 * quarantine/ (with its .why.json) and drop our draft. Nothing is deleted but the draft.
 */
async function setAsideDuplicate(ctx: RunCtx, names: { next: string; prev: string }, source: string, other: { state: FinishedState; path: string }): Promise<DuplicateOutcome> {
  const why = `${source}: this ticket is already ${other.state} (${other.path}); the copy at ${source} is a duplicate and was not moved`;
  // Why quarantine before dropping the draft: a crash in between leaves .next alone, which
  // recovery drops (keeping any output in rejected/); the other order would leave .prev alone,
  // which recovery deletes as a copy of a ticket that exists elsewhere.
  const quarantined = await quarantineFile(ctx, names.prev, why, source);
  await unlinkIfExists(ctx, names.next).catch(() => undefined);
  return { moved: false, reason: 'finished', state: other.state, existing: other.path, ...(quarantined ? { quarantined } : {}) };
}

/** Does `path` hold exactly `text` (our version of the ticket)? */
async function holds(ctx: RunCtx, path: string, text: string): Promise<boolean> {
  return (await readIfExists(ctx, path)) === text;
}

/** Rename what we took back to where it was; false if it is gone (recovery restored it). */
async function putBack(ctx: RunCtx, prev: string, source: string): Promise<boolean> {
  try {
    await ctx.fs.rename(prev, source);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw ioError(err, 'restoring', source);
  }
}
