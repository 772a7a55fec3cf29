import { dirname } from 'node:path';
import { errnoCode, ioError } from '../model/errors.js';
import { nonce } from '../model/ids.js';
import { checkRealDir, ensureDir, ensureParent, intoDir, pathForTicket, type RunCtx } from '../store/run-context.js';
import { parseTicket, serializeTicket } from '../model/serialize-ticket.js';
import type { Ticket } from '../model/ticket-schema.js';
import { readIfExists, syncDirIfDurable, unlinkIfExists } from '../store/atomic-write.js';
import { MovingKind, movingFileName } from '../store/run-names.js';

export type MoveOutcome =
  | { moved: true; ticket: Ticket; path: string; previous: Ticket }
  /** The source file was gone when we tried to take it: someone else moved the ticket first. */
  | { moved: false; reason: 'gone' }
  /** The file at the source changed between our read and our move; nothing was changed. */
  | { moved: false; reason: 'changed' };

export interface MoveOptions {
  /** Decide the new ticket from the current one; throw to abort with nothing changed. */
  build: (current: Ticket) => Ticket;
  /** Only move if the source still holds this claim token (fencing). */
  expectToken?: string;
  /**
   * The source's content and inode as the caller just read them (saves a second read). Safe:
   * the fence still checks that the inode it takes is this one.
   */
  known?: { text: string; ino: number; ticket?: Ticket };
}

export function movingNames(ctx: RunCtx, ticketId: string, n: string): { next: string; prev: string } {
  return {
    next: `${ctx.paths.moving}/${movingFileName(ticketId, n, MovingKind.next)}`,
    prev: `${ctx.paths.moving}/${movingFileName(ticketId, n, MovingKind.prev)}`,
  };
}

/**
 * Move a ticket from `source` to wherever its new content belongs, so that no crash or race
 * can lose it, duplicate it, or publish it half-written:
 *
 *   1. read the source (and its inode)
 *   2. write the complete new ticket to moving/<id>~<n>.next.json
 *   3. rename the source to moving/<id>~<n>.prev.json   <- the fence: exactly one mover wins
 *   4. check the inode we took is the one we read
 *   5. rename .next into the target state directory     <- the commit
 *   6. unlink .prev
 *
 * A crash after 3 leaves next+prev (recovery finishes the move); after 5 leaves prev alone
 * (recovery removes it). Before 3, nothing changed.
 */
export async function moveTicket(ctx: RunCtx, source: string, opts: MoveOptions, retries = 3): Promise<MoveOutcome> {
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
      throw ioError(err, 'reading', source);
    }
  }
  const current = opts.known?.ticket ?? parseTicket(text, source);
  if (opts.expectToken !== undefined && current.claim?.token !== opts.expectToken) return { moved: false, reason: 'changed' };
  const next = opts.build(current);
  const target = pathForTicket(ctx, next);
  // Why before the fence: a target directory that is a link out of the run (UNSAFE_PATH) must
  // stop the move while the ticket is still where it was, not strand it in moving/.
  await checkRealDir(ctx, dirname(target));
  const names = movingNames(ctx, current.ticket_id, nonce());
  const nextText = serializeTicket(next);
  const done: MoveOutcome = { moved: true, ticket: next, path: target, previous: current };

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
  if (takenIno !== ino) {
    // RACE: the source was replaced after we read it (a re-claim, a heartbeat). Put back what we
    // took, untouched, and let the caller decide again from the new content.
    await ctx.fs.rename(names.prev, source).catch((err: unknown) => {
      throw ioError(err, 'restoring', source);
    });
    await unlinkIfExists(ctx, names.next).catch(() => undefined);
    return { moved: false, reason: 'changed' };
  }
  await ensureParent(ctx, target);
  try {
    // Why: the commit point. From here the ticket is in its new state.
    await intoDir(ctx, dirname(target), () => ctx.fs.rename(names.next, target));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') {
      // RACE: .next vanished under a mover stalled past recovery's settle time. Either recovery
      // finished our move (the target holds our version) or it dropped our draft before our
      // fence: then we hold only .prev: put it back untouched and start over.
      if (await holds(ctx, target, nextText)) return done;
      if (retries > 0) {
        // Why: whether we put it back or a recoverer already did, the ticket is at `source` again.
        await putBack(ctx, names.prev, source);
        return moveTicket(ctx, source, { ...opts, known: undefined }, retries - 1);
      }
    }
    // Not committed: the ticket is safe in moving/ as next+prev; recovery will finish the move.
    throw ioError(err, 'moving into place', target);
  }
  if (ctx.durable) {
    // Why both at once: independent directories; each fsync waits for a journal commit.
    await Promise.all([syncDirIfDurable(ctx, dirname(target)), syncDirIfDurable(ctx, ctx.paths.moving)]);
  }
  await unlinkIfExists(ctx, names.prev).catch(() => undefined);
  return done;
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
