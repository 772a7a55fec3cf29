import type { Dir, Dirent } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { errnoCode, ioError } from '../model/errors.js';
import { nonce } from '../model/ids.js';
import { tempFileName } from './run-names.js';
import { isNetworkFsHiddenName, retryTransientListing } from './transient-listing.js';
import { checkRealDir, ensureDir, ensureParent, intoDir, isKnownRealDir, type RunCtx } from './run-context.js';

/** A fresh temp path inside the run's .tmp/ (same filesystem, so renames are atomic). */
export async function tmpPath(ctx: RunCtx, hint: string): Promise<string> {
  await ensureDir(ctx, ctx.paths.tmp);
  // Why a template, not join: the name has no separator (basename), and join's normalising
  // showed in a create profile; .tmp/ is a normalised path of the run.
  return `${ctx.paths.tmp}/${tempFileName(basename(hint), process.pid, nonce())}`;
}

/** Write `data` completely to a new temp file, and make sure `path`'s directory exists. */
export async function writeTempFor(ctx: RunCtx, path: string, data: string): Promise<string> {
  const tmp = await tmpPath(ctx, path);
  try {
    await intoDir(ctx, ctx.paths.tmp, () => ctx.fs.writeFileExclusive(tmp, data, ctx.durable));
  } catch (err) {
    throw ioError(err, 'writing', tmp);
  }
  await ensureParent(ctx, path);
  return tmp;
}

/** Write a complete file in .tmp/ and rename it into place (replacing what is there). */
export async function writeFileAtomic(ctx: RunCtx, path: string, data: string): Promise<void> {
  const tmp = await writeTempFor(ctx, path, data);
  try {
    // Why: rename is the publish step; readers see the old file or the whole new one.
    await intoDir(ctx, dirname(path), () => ctx.fs.rename(tmp, path), tmp);
  } catch (err) {
    await ctx.fs.unlink(tmp).catch(() => undefined);
    throw ioError(err, 'publishing', path);
  }
  await syncDirIfDurable(ctx, dirname(path));
}

/**
 * Create a file only if nothing is at `path` (write to .tmp/, then link: link fails with
 * EEXIST where rename would silently replace). Returns false when the path already existed.
 */
export async function createFileExclusive(ctx: RunCtx, path: string, data: string): Promise<boolean> {
  return linkTempExclusive(ctx, await writeTempFor(ctx, path, data), path);
}

/** The second half of createFileExclusive, for a temp file written by writeTempFor: link, then drop the temp. */
export async function linkTempExclusive(ctx: RunCtx, tmp: string, path: string): Promise<boolean> {
  try {
    await intoDir(ctx, dirname(path), () => ctx.fs.link(tmp, path), tmp);
    await syncDirIfDurable(ctx, dirname(path));
    return true;
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') return false;
    throw ioError(err, 'creating', path);
  } finally {
    await ctx.fs.unlink(tmp).catch(() => undefined);
  }
}

/** Per run context and directory: the fsync in progress, and the one that will start after it. */
interface DirSync {
  running?: Promise<void>;
  queued?: Promise<void>;
}
const dirSyncs = new WeakMap<RunCtx, Map<string, DirSync>>();

/**
 * fsync a directory (durable runs only), shared by concurrent callers: group commit.
 * RACE: an fsync that is already running may have started before the caller's rename, so it
 * does not count; the caller joins the next one, which starts when the running one ends and so
 * covers every rename made before it. With 16 claim loops renaming into moving/ and the same
 * state directories, most fsyncs are shared.
 */
export async function syncDirIfDurable(ctx: RunCtx, dir: string): Promise<void> {
  if (!ctx.durable) return;
  let byDir = dirSyncs.get(ctx);
  if (!byDir) dirSyncs.set(ctx, (byDir = new Map()));
  let s = byDir.get(dir);
  if (!s) byDir.set(dir, (s = {}));
  const state = s;
  const start = (): Promise<void> => {
    const p: Promise<void> = ctx.fs.syncDir(dir).then(
      () => undefined,
      (err: unknown) => {
        throw ioError(err, 'syncing directory', dir);
      },
    );
    state.running = p;
    const clear = (): void => {
      if (state.running === p) state.running = undefined;
    };
    p.then(clear, clear);
    return p;
  };
  if (!state.running) return start();
  state.queued ??= state.running.then(
    () => undefined,
    () => undefined,
  ).then(() => {
    state.queued = undefined;
    return start();
  });
  return state.queued;
}

/**
 * Unlink, treating "already gone" as success. UNSAFE_PATH when the file's directory is not a
 * real directory of the run (nothing outside the run is ever deleted through a planted link).
 */
export async function unlinkIfExists(ctx: RunCtx, path: string): Promise<boolean> {
  if (!isKnownRealDir(ctx, dirname(path))) await checkRealDir(ctx, dirname(path));
  try {
    await ctx.fs.unlink(path);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw ioError(err, 'removing', path);
  }
}

/** Read a file, or undefined when it does not exist. */
export async function readIfExists(ctx: RunCtx, path: string): Promise<string | undefined> {
  try {
    return await ctx.fs.readFile(path);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw ioError(err, 'reading', path);
  }
}

/**
 * readdir that treats a missing directory as empty (state dirs are created lazily). UNSAFE_PATH
 * when `dir` is not a real directory of the run: what a link points to is never listed, since
 * what is listed gets moved or deleted. A transient error (a network filesystem's ENOENT or
 * ESTALE while others rename out of `dir`, an EIO) lists again (transient-listing.ts); the
 * hidden files of NFS and FUSE clients are left out.
 */
export async function listDir(ctx: RunCtx, dir: string): Promise<string[]> {
  // Why readdir even when the check found nothing: it may have been made since; ENOENT is [].
  await checkRealDir(ctx, dir);
  try {
    const names = await retryTransientListing(() => readdirOrMissing(ctx, dir));
    return names.some(isNetworkFsHiddenName) ? names.filter((n) => !isNetworkFsHiddenName(n)) : names;
  } catch (err) {
    throw ioError(err, 'listing', dir);
  }
}

/** readdir, [] when `dir` is missing; an ENOENT while `dir` is still there is thrown (transient). */
async function readdirOrMissing(ctx: RunCtx, dir: string): Promise<string[]> {
  try {
    return await ctx.fs.readdir(dir);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOTDIR' || (code === 'ENOENT' && (await isMissingDir(ctx, dir)))) return [];
    throw err;
  }
}

/**
 * Is `dir` really gone? Why ask after an ENOENT: on a network filesystem a listing fails with
 * ENOENT while other clients rename entries out of a directory that is still there; only a
 * directory that is gone is empty.
 */
export async function isMissingDir(ctx: RunCtx, dir: string): Promise<boolean> {
  try {
    const st = ctx.fs.lstatIfExists ? await ctx.fs.lstatIfExists(dir) : await ctx.fs.lstat(dir);
    return st === undefined || !st.isDirectory();
  } catch (err) {
    const code = errnoCode(err);
    return code === 'ENOENT' || code === 'ENOTDIR';
  }
}

/**
 * Call `fn` with each entry of `dir`, streamed with opendir (never the whole listing in memory),
 * until `fn` returns false. False when `dir` is missing or `fn` stopped; true at the end. The
 * caller checks the directory first where that matters (see checkRealDir). Opening the
 * directory is retried on a transient error (never the reading: `fn` has seen entries by then);
 * the hidden files of NFS and FUSE clients are passed over.
 */
export async function streamDirEntries(ctx: RunCtx, dir: string, fn: (entry: Dirent) => Promise<boolean | void> | boolean | void): Promise<boolean> {
  let handle;
  try {
    handle = await retryTransientListing(() => opendirOrMissing(ctx, dir));
  } catch (err) {
    throw ioError(err, 'listing', dir);
  }
  if (handle === undefined) return false;
  try {
    for (let e = await handle.read(); e !== null; e = await handle.read()) {
      if (isNetworkFsHiddenName(e.name)) continue;
      if ((await fn(e)) === false) return false;
    }
    return true;
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** opendir, undefined when `dir` is missing; an ENOENT while `dir` is still there is thrown (transient). */
async function opendirOrMissing(ctx: RunCtx, dir: string): Promise<Dir | undefined> {
  try {
    return await ctx.fs.opendir(dir);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOTDIR' || (code === 'ENOENT' && (await isMissingDir(ctx, dir)))) return undefined;
    throw err;
  }
}
