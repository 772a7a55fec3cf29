import { dirname } from 'node:path';
import { errnoCode, ioError } from '../model/errors.js';
import { nonce } from '../model/ids.js';
import { checkRealDir, ensureDir, ensureParent, entryExists, intoDir, isKnownRealDir, type RunCtx } from '../store/run-context.js';
import { parseTicket, serializeTicket } from '../model/serialize-ticket.js';
import type { Ticket } from '../model/ticket-schema.js';
import { TicketState, isFinishedState, type FinishedState } from '../model/states.js';
import { readIfExists, syncDirIfDurable, unlinkIfExists } from '../store/atomic-write.js';
import { MovingKind, movingFileName } from '../store/run-names.js';
import { quarantineFile } from '../store/quarantine.js';
import { checkTicketLocation, pathOfLocation, targetLocation, type MoveTarget, type TicketLocation } from '../store/ticket-location.js';
import { finishedCopyOf } from './locate-ticket.js';
import { ticketReadError } from '../store/read-ticket.js';
import { landedAnyway, requestChecked } from './retried-request.js';

export type MoveOutcome =
  | { moved: true; ticket: Ticket; path: string; previous: Ticket }
  /** The source file was gone when we tried to take it: someone else moved the ticket first. */
  | { moved: false; reason: 'gone' }
  /** The file at the source was not what the caller may move (another token, other content); it was put back unchanged. */
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
   * Decide the new ticket from the current one; throw to abort with nothing changed (the taken
   * file is put back). Return `current` itself to leave the ticket as it is (put back, and
   * answered as moved to where it was). It must agree with `to` (status, id, stage, claim
   * holder): checked before anything is committed.
   */
  build: (current: Ticket) => Ticket;
  /** Only move if the source still holds this claim token (fencing). */
  expectToken?: string;
  /**
   * The source's content as the caller looked at it, and the ticket parsed from it: only move
   * if the file taken holds exactly this text (else 'changed'); saves parsing it again.
   */
  known?: { text: string; ticket: Ticket };
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

const GONE: MoveOutcome = { moved: false, reason: 'gone' };
const CHANGED: MoveOutcome = { moved: false, reason: 'changed' };

/**
 * Move the ticket at location `from` to `opts.to`, so that no crash or race can lose it,
 * duplicate it, publish it half-written, or replace a finished ticket ("read after the fence"):
 *
 *   1. rename the source to moving/<id>~<n>.prev.json   <- the fence: exactly one mover wins
 *      (ENOENT: someone else took it first, unless our own .prev is there: a retried request)
 *   2. read .prev (bounded): it must agree with `from` (else CORRUPT_TICKET naming the source)
 *      and hold the caller's token / known text (else 'changed'); build the next version
 *   3. into pending/ or a finished state: check no finished copy of the id exists elsewhere
 *   4. write the complete next version to moving/<id>~<n>.next.json (O_EXCL: EEXIST means
 *      recovery claimed our .prev, see below), then check .prev is still there
 *   5. commit (commitDraft): rename .next into claimed/ or pending/; link .next into a finished
 *      state, then unlink .next (a finished ticket already there: EEXIST, never replaced)
 *   6. unlink .prev
 *
 * Anything that stops the move at 2 or 3, or fails at 4, puts the taken file back without
 * replacing anything (putBack). What each step relies on: rename is atomic on the server
 * (POSIX; NFS, CephFS, GlusterFS servers do it); O_EXCL and link fail with EEXIST; the content
 * of the file taken is the token. Never inode numbers, link counts or mtimes.
 * A crash after 1 leaves .prev alone (recovery puts it back); after 4, next+prev (recovery
 * finishes the move); after 5, .prev alone with the ticket at its target (recovery removes it).
 * A mover stalled past recovery's patience meets recovery's work, never undoes it: recovery
 * claims a lone .prev by linking it to the move's own .next name before it puts it back, so the
 * mover's O_EXCL draft fails, or the mover finds its .prev gone after writing it (stillHeld).
 */
export async function moveTicket(ctx: RunCtx, from: TicketLocation, opts: MoveOptions, retries = 3): Promise<MoveOutcome | DuplicateOutcome> {
  const source = pathOfLocation(ctx, from);
  // Why: never move a file out of a directory that is a link out of the run (UNSAFE_PATH).
  // Why the synchronous test first: the directories are almost always known (an await per check costs more).
  if (!isKnownRealDir(ctx, dirname(source)) && !(await checkRealDir(ctx, dirname(source)))) return GONE;
  if (!isKnownRealDir(ctx, ctx.paths.moving)) await ensureDir(ctx, ctx.paths.moving);
  const names = movingNames(ctx, from.ticketId, nonce());
  if (!(await takeSource(ctx, source, names.prev))) return GONE;
  let plan: MovePlan | NoMove;
  try {
    plan = await planMove(ctx, from, opts, source, names);
  } catch (err) {
    // Why: nothing is moved on the word of a file that contradicts its place, nor when the
    // caller's build refuses: the taken file goes back where it was, untouched.
    await putBack(ctx, names.prev, source, undefined);
    throw err;
  }
  if ('stalled' in plan) return retries > 0 ? moveTicket(ctx, from, opts, retries - 1) : CHANGED;
  if ('keep' in plan) {
    const back = await putBack(ctx, names.prev, source, plan.text);
    if (plan.keep === undefined || back !== 'restored') return CHANGED;
    return { moved: true, ticket: plan.keep, path: source, previous: plan.keep };
  }
  if (plan.toLoc.state !== TicketState.claimed) {
    // Why after the fence: we hold the source now, so the copy we find cannot be it. Moving a
    // duplicate of a finished ticket into pending/ or another finished state would make two
    // tickets of one. (Two duplicates racing here can both pass: fsck keeps the finished copy.)
    const other = await finishedCopyOf(ctx, from.ticketId, [source, plan.target]);
    if (other) return setAsideDuplicate(ctx, names, source, other);
  }
  if ((await writeDraft(ctx, names, source, plan.nextText)) === 'stalled' || !(await stillHeld(ctx, names, plan))) {
    if (await landedAnyway(ctx, plan.target, plan.nextText)) return plan.done;
    return retries > 0 ? moveTicket(ctx, from, opts, retries - 1) : CHANGED;
  }
  return commitMove(ctx, from, opts, retries, plan, names);
}

/**
 * Why a move stops after the fence: `stalled` (our .prev is gone: we stalled past recovery's
 * patience and it put the ticket back: start over), or `keep` (put back the taken `text`:
 * undefined when it is not what the caller may move, the ticket when build kept it as it is).
 */
type NoMove = { stalled: true } | { keep: Ticket | undefined; text: string };

/** What a move will do, decided from the file it took (step 2 of moveTicket). */
interface MovePlan {
  target: string;
  toLoc: TicketLocation;
  nextText: string;
  done: MoveOutcome;
}

/**
 * Step 1: rename the source to our .prev name. False when someone else took it first (ENOENT,
 * ENOTDIR). RACE: on NFS a retried rename reports ENOENT after it succeeded: our .prev name is
 * unique (a nonce), so if it exists, the ticket is ours.
 */
async function takeSource(ctx: RunCtx, source: string, prev: string): Promise<boolean> {
  try {
    // Why intoDir: git may have removed an empty moving/ under a long-lived process.
    // RACE: an ENOENT while the source is still there and our .prev is not was spurious: again.
    await requestChecked(() => intoDir(ctx, dirname(prev), () => ctx.fs.rename(source, prev), source), 'ENOENT', async () =>
      (await landedAnyway(ctx, prev)) ? 'done' : (await entryExists(ctx, source)) ? 'retry' : 'failed',
    );
    return true;
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw ioError(err, 'moving', source);
  }
}

/** Step 2: read what we took, check it, build the next version (or say why not: NoMove). */
async function planMove(ctx: RunCtx, from: TicketLocation, opts: MoveOptions, source: string, names: { prev: string }): Promise<MovePlan | NoMove> {
  let text: string;
  try {
    text = await ctx.fs.readFile(names.prev);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return { stalled: true };
    // Why CORRUPT_TICKET naming the source: a FIFO, socket or directory named like the ticket
    // (never opened, see fs-layer.ts), or one over the size limit, is no ticket: the caller
    // quarantines it at the source, where putBack returns it.
    throw ticketReadError(err, 'reading', source);
  }
  if (opts.known !== undefined && text !== opts.known.text) return { keep: undefined, text };
  // Why one parse, here: the taken file is agent-writable; it is validated once, then trusted.
  const current = opts.known?.ticket ?? parseTicket(text, source);
  // Why before anything else: a ticket's JSON is only a claim about itself; nothing is moved on
  // the word of a file that contradicts where it is.
  checkTicketLocation(opts.acceptStaleStatus ? { ...current, status: from.state } : current, from, source);
  if (opts.expectToken !== undefined && current.claim?.token !== opts.expectToken) return { keep: undefined, text };
  const next = opts.build(current);
  if (next === current) return { keep: current, text };
  // Why from `next`: into pending/, the lane is the new version's (its priority and not_before).
  const toLoc = targetLocation(from.ticketId, opts.to, next);
  const target = pathOfLocation(ctx, toLoc);
  // Why: the target path comes from `from` and `to` only; the new content must say the same.
  checkTicketLocation(next, toLoc, target);
  // Why before the draft: a target directory that is a link out of the run (UNSAFE_PATH) must
  // stop the move while we can still put the ticket back.
  if (!isKnownRealDir(ctx, dirname(target))) await checkRealDir(ctx, dirname(target));
  return { target, toLoc, nextText: serializeTicket(next), done: { moved: true, ticket: next, path: target, previous: current } };
}

/**
 * Step 4: write the next version (O_EXCL). 'stalled' when the name exists: only recovery makes
 * it (it claims a lone .prev by linking it to our .next name, see recover-moving.ts), so it is
 * putting the ticket back for us. A failed write puts the ticket back and throws.
 */
async function writeDraft(ctx: RunCtx, names: { next: string; prev: string }, source: string, nextText: string): Promise<'written' | 'stalled'> {
  try {
    await intoDir(ctx, ctx.paths.moving, () => ctx.fs.writeFileExclusive(names.next, nextText, ctx.durable));
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') return 'stalled';
    await putBack(ctx, names.prev, source, undefined);
    throw ioError(err, 'writing', names.next);
  }
  return 'written';
}

/**
 * After step 4: is our .prev still there? RACE: recovery may have claimed our lone .prev,
 * published it and freed the .next name before our write: then .prev is gone (recovery removes
 * it before it publishes), and our draft is dropped. Once our draft exists with .prev still
 * there, recovery can no longer claim it (its link meets EEXIST) and only ever finishes our
 * move (next+prev): the caller then finds our version at the target.
 */
async function stillHeld(ctx: RunCtx, names: { next: string; prev: string }, plan: MovePlan): Promise<boolean> {
  if (await entryExists(ctx, names.prev)) return true;
  if (!(await landedAnyway(ctx, plan.target, plan.nextText))) await unlinkIfExists(ctx, names.next);
  return false;
}

/** Steps 5 and 6 of moveTicket: the commit, and what a stalled or duplicate move meets there. */
async function commitMove(ctx: RunCtx, from: TicketLocation, opts: MoveOptions, retries: number, plan: MovePlan, names: { next: string; prev: string }): Promise<MoveOutcome | DuplicateOutcome> {
  const { target, nextText, done } = plan;
  const source = pathOfLocation(ctx, from);
  const finished = isFinishedState(plan.toLoc.state);
  if (!isKnownRealDir(ctx, dirname(target))) await ensureParent(ctx, target);
  try {
    // Why: the commit point. From here the ticket is in its new state.
    if ((await commitDraft(ctx, names.next, target, finished, nextText)) === 'exists') {
      return setAsideDuplicate(ctx, names, source, { state: plan.toLoc.state as FinishedState, path: target });
    }
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' && retries > 0) {
      // RACE: .next vanished under a mover stalled past recovery's patience, and the target
      // does not hold our version (commitDraft looked): recovery put the ticket back (or is
      // putting it back); start over from wherever it is now.
      return moveTicket(ctx, from, { ...opts, known: undefined }, retries - 1);
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
 * The commit of a move: publish the complete new version `next` (a file in moving/ holding
 * `text`) at `target`. Into a finished state (`finished`): link, then unlink `next`, so that a
 * finished ticket already at `target` is never replaced ('exists'; nothing changed). Into
 * claimed/ or pending/: rename (cheaper; a file there is an older copy of the same ticket, and a
 * claim's own rename re-checks pending/). A link's EEXIST or a rename's ENOENT where the target
 * holds `text` is our own commit (a retried request, or a recoverer that committed our draft):
 * 'committed'. Other errors are thrown as they come (callers tell ENOENT apart).
 */
export async function commitDraft(ctx: RunCtx, next: string, target: string, finished: boolean, text: string): Promise<'committed' | 'exists'> {
  if (!finished) {
    // An ENOENT: our text at the target is our commit (retried request, or a recoverer's);
    // our draft still there means the error was spurious: again.
    await requestChecked(() => intoDir(ctx, dirname(target), () => ctx.fs.rename(next, target), next), 'ENOENT', async () =>
      (await landedAnyway(ctx, target, text)) ? 'done' : (await entryExists(ctx, next)) ? 'retry' : 'failed',
    );
    return 'committed';
  }
  let occupied = false;
  try {
    // Why link, not rename: rename replaces whatever is at the target without a word. An
    // EEXIST with our text there is our commit; with nothing there, the error was spurious: again
    // (and if it stays, an I/O error: never "a finished ticket is there" when none is).
    await requestChecked(() => intoDir(ctx, dirname(target), () => ctx.fs.link(next, target), next), 'EEXIST', async () => {
      const there = await readIfExists(ctx, target);
      occupied = there !== undefined && there !== text;
      return there === text ? 'done' : there === undefined ? 'retry' : 'failed';
    });
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' && (await landedAnyway(ctx, target, text))) return 'committed';
    if (code === 'EEXIST' && occupied) return 'exists';
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
 * Put what we took (`prev`) back at `source` without replacing anything there: link, then
 * unlink `prev`. 'restored', or 'left' when `source` exists again with other content than
 * `text` (someone made it meanwhile): `prev` stays for recovery, which drops it since the
 * ticket is elsewhere; or 'gone' when `prev` is gone (recovery put it back for us).
 */
export async function putBack(ctx: RunCtx, prev: string, source: string, text: string | undefined): Promise<'restored' | 'left' | 'gone'> {
  try {
    await intoDir(ctx, dirname(source), () => ctx.fs.link(prev, source), prev);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') return (await landedAnyway(ctx, prev)) ? 'left' : 'gone';
    if (code !== 'EEXIST') throw ioError(err, 'restoring', source);
    // RACE: a retried link reports EEXIST after it succeeded: the source then holds what we took.
    const taken = text ?? (await ctx.fs.readFile(prev).catch(() => undefined));
    if (taken === undefined || !(await landedAnyway(ctx, source, taken))) return 'left';
  }
  // Why the sync first: a power cut must not keep the unlink and lose the link.
  await syncDirIfDurable(ctx, dirname(source));
  await unlinkIfExists(ctx, prev);
  return 'restored';
}

/**
 * The ticket we took (`names.prev`) is a duplicate of the finished copy `other`: move it to
 * quarantine/ (with its .why.json) and drop our draft, if one was written. Nothing is deleted
 * but the draft.
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
