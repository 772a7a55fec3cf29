import type { Stats } from 'node:fs';
import { errnoCode, ioError } from '../model/errors.js';
import type { RunCtx } from '../store/run-context.js';

/**
 * Largest ticket-like file fsck reads (input and output are each capped at 16 MB, plus history).
 * Why a cap at all: a file anyone can write must not make fsck allocate without bound.
 */
export const MAX_ENTRY_BYTES = 64 * 1024 * 1024;

/** What an entry is, in words for a problem message ('file' for a regular file). */
export type EntryKind = 'file' | 'symlink' | 'directory' | 'FIFO' | 'socket' | 'device' | 'special file';

export function entryKindOf(st: Stats): EntryKind {
  if (st.isFile()) return 'file';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isDirectory()) return 'directory';
  if (st.isFIFO()) return 'FIFO';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'device';
  return 'special file';
}

/** What an entry is without following it, or undefined when it is gone. */
export async function lstatEntry(ctx: RunCtx, path: string): Promise<EntryKind | undefined> {
  try {
    return entryKindOf(await ctx.fs.lstat(path));
  } catch (err) {
    if (isGone(err)) return undefined;
    throw ioError(err, 'checking', path);
  }
}

export type EntryRead =
  | { kind: 'gone' }
  | { kind: 'not_file'; what: EntryKind }
  | { kind: 'too_big' }
  | { kind: 'text'; text: string };

/**
 * Read a file of the run that anyone may have written: never through a symlink, never blocking
 * on a FIFO, never more than `maxBytes`. Why not readFile: a FIFO named like a ticket made a
 * plain open block forever (`fsck --repair` hung), and a symlink made it read outside the run.
 */
export async function readEntry(ctx: RunCtx, path: string, maxBytes = MAX_ENTRY_BYTES): Promise<EntryRead> {
  let st: Stats;
  try {
    st = await ctx.fs.lstat(path);
  } catch (err) {
    if (isGone(err)) return { kind: 'gone' };
    throw ioError(err, 'checking', path);
  }
  const what = entryKindOf(st);
  if (what !== 'file') return { kind: 'not_file', what };
  if (st.size > maxBytes) return { kind: 'too_big' };
  // Why the size first: reading up to it (and one byte more) allocates what the file holds, not
  // the whole limit; only a file that grew since the lstat is read again, up to the limit.
  const first = await readUpTo(ctx, path, st.size + 1);
  if (first.kind !== 'text' || first.bytes.length <= st.size) return asRead(first, maxBytes);
  return asRead(await readUpTo(ctx, path, maxBytes + 1), maxBytes);
}

type RawRead = { kind: 'gone' } | { kind: 'not_file'; what: EntryKind } | { kind: 'text'; bytes: Buffer };

async function readUpTo(ctx: RunCtx, path: string, limit: number): Promise<RawRead> {
  try {
    // RACE: the entry may have been swapped for a link or a FIFO since the lstat: readUpTo
    // opens with O_NOFOLLOW | O_NONBLOCK (ELOOP for a link, no wait on a FIFO) and says what it opened.
    const read = await ctx.fs.readUpTo(path, limit);
    return read.isFile ? { kind: 'text', bytes: read.bytes } : { kind: 'not_file', what: 'special file' };
  } catch (err) {
    if (isGone(err)) return { kind: 'gone' };
    if (errnoCode(err) === 'ELOOP') return { kind: 'not_file', what: 'symlink' };
    throw ioError(err, 'reading', path);
  }
}

function asRead(raw: RawRead, maxBytes: number): EntryRead {
  if (raw.kind !== 'text') return raw;
  if (raw.bytes.length > maxBytes) return { kind: 'too_big' };
  return { kind: 'text', text: raw.bytes.toString('utf8') };
}

function isGone(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'ENOENT' || code === 'ENOTDIR';
}
