import type { Dir } from 'node:fs';
import { errnoCode, ioError } from '../model/errors.js';
import { isMissingDir } from '../store/atomic-write.js';
import { retryTransientListing } from '../store/transient-listing.js';
import { validateId } from '../model/ids.js';
import type { RunCtx } from '../store/run-context.js';
import { ticketIdOfFileName } from '../store/run-names.js';

/** How many directory entries one claim looks at before giving up on a contended batch. */
const CANDIDATE_BATCH = 256;

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

/** The next name to try in pending directory `dir` (the stage directory or a lane), or undefined when it has none. */
export async function nextCandidate(ctx: RunCtx, dir: string): Promise<string | undefined> {
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

/**
 * Read up to CANDIDATE_BATCH ticket names from the directory stream (opened if needed),
 * shuffled. A transient error (ENOENT, ESTALE or EIO while others rename out of the directory
 * on a network filesystem) drops the stream and reads again from a fresh one, a few times with
 * a short wait: a claim says there is nothing to claim only when the directory is empty or gone.
 */
async function readCandidates(ctx: RunCtx, dir: string, cursor: Cursor): Promise<void> {
  try {
    await retryTransientListing(() => readCandidatesOnce(ctx, dir, cursor));
  } catch (err) {
    throw ioError(err, 'listing', dir);
  }
}

/** One try of readCandidates; errors are thrown as they come (the stream is dropped first). */
async function readCandidatesOnce(ctx: RunCtx, dir: string, cursor: Cursor): Promise<void> {
  if (!cursor.dir) {
    try {
      cursor.dir = await ctx.fs.opendir(dir);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT' && (await isMissingDir(ctx, dir))) return;
      throw err;
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
    throw err;
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


/** Close and forget the cursor of a directory that was removed (a drained lane): lanes come and go, cursors must not pile up. */
export function forgetCursor(ctx: RunCtx, dir: string): void {
  const byDir = cursors.get(ctx);
  const cursor = byDir?.get(dir);
  if (!cursor || !byDir) return;
  byDir.delete(dir);
  if (cursor.idle !== undefined) clearTimeout(cursor.idle);
  if (cursor.dir && !cursor.refill) cursor.dir.close().catch(() => undefined);
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

