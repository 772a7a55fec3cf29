import { dirname } from 'node:path';
import { z } from 'zod';
import { TqError, errnoCode, ioError } from '../model/errors.js';
import { durableNodeFs, nodeFs, type Fs } from './fs-layer.js';
import { systemClock, type Clock } from '../model/clock.js';
import { cleanId } from '../model/ids.js';
import { runPaths, type RunPaths } from './run-paths.js';
import { foundRealDir, partsBelowRun, unsafeDirError } from './real-dir.js';
import { retryTransientListing } from './transient-listing.js';
import { Pipeline, parsePipeline } from '../model/pipeline.js';
import { TicketState } from '../model/states.js';
import { stripBom } from '../model/serialize-ticket.js';
import { formatZodError } from '../model/zod-messages.js';

/** What fsync does: `full` syncs each file and directory before reporting success. */
export const Durability = { full: 'full', none: 'none' } as const;
export type Durability = (typeof Durability)[keyof typeof Durability];

export const RunConfig = z.object({
  schema_version: z.number().int(),
  run_id: z.string(),
  created_at: z.string(),
  pipeline: Pipeline,
  durability: z.enum(['full', 'none']).default('full'),
  description: z.string().optional(),
});
export type RunConfig = z.infer<typeof RunConfig>;

export interface RunOptions {
  fs?: Fs;
  clock?: Clock;
  /** Overrides the run's own durability setting (the CLI fills it from TQ_DURABILITY). */
  durability?: Durability;
}

/** Everything an operation on one run needs. Cheap to build; holds no state that matters. */
export interface RunCtx {
  root: string;
  runId: string;
  paths: RunPaths;
  config: RunConfig;
  fs: Fs;
  clock: Clock;
  durable: boolean;
  /** Directories ensureDir has made or found (how long they are trusted: see checkRealDir). */
  madeDirs: Set<string>;
}

export async function openRun(root: string, rawRunId: string, opts: RunOptions = {}): Promise<RunCtx> {
  const runId = cleanId(rawRunId, 'run id');
  const fs = opts.fs ?? nodeFs;
  const paths = runPaths(root, runId);
  let text: string;
  try {
    text = await fs.readFile(paths.runJson);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') {
      throw new TqError('RUN_NOT_FOUND', `no run "${runId}" under ${root} (${paths.runJson} does not exist)`, {
        file: paths.runJson,
        hint: 'list runs with `tq runs`, or pass --root DIR / set TQ_ROOT',
      });
    }
    throw ioError(err, 'reading run.json', paths.runJson);
  }
  const config = parseRunConfig(text, paths.runJson);
  const durability = opts.durability ?? config.durability;
  return {
    root,
    runId,
    paths,
    config,
    fs: opts.fs ?? (durability === 'full' ? durableNodeFs : nodeFs),
    clock: opts.clock ?? systemClock,
    durable: durability === 'full',
    madeDirs: new Set(),
  };
}

export function parseRunConfig(text: string, file: string): RunConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(stripBom(text));
  } catch (err) {
    throw new TqError('CORRUPT_TICKET', `${file}: not valid JSON: ${(err as Error).message}`, { file });
  }
  const parsed = RunConfig.safeParse(raw);
  if (!parsed.success) {
    throw new TqError('CORRUPT_TICKET', `${file}: ${formatZodError(parsed.error)}`, { file, field: parsed.error.issues[0]?.path.join('.') });
  }
  // Why `ignore`: keys unknown to this tq were refused when the run was created (by the tq that
  // created it); a run.json is not the place to refuse them again.
  parsePipeline(parsed.data.pipeline, `${file} (pipeline)`, { unknownKeys: 'ignore' });
  return parsed.data;
}

export function stateDir(ctx: RunCtx, state: Exclude<TicketState, 'claimed'>, stage: string): string {
  // Why template strings, not path.join, on these hot paths: the parts are ids without
  // separators, and join's normalising showed up at ~5% of a claim + submit profile.
  return `${ctx.paths.dir}/${state}/${stage}`;
}

export function claimedDir(ctx: RunCtx, workerId: string): string {
  return `${ctx.paths.dir}/${TicketState.claimed}/${workerId}`;
}

/** When a directory of a run was last found to be a real directory. */
interface RealDirSeen {
  at: number;
}
const realDirs = new WeakMap<RunCtx, Map<string, RealDirSeen>>();

/**
 * How long a directory found real is trusted without looking again (wall clock, ms). Why a
 * cache: a claim and a submit touch four directories; an lstat of each part of each (~2 µs
 * apiece, plus a thread-pool trip for async callers) would be paid per ticket. Why it expires:
 * a long-lived process (the daemon) must notice a directory swapped for a link by an agent; it
 * does within this time (twice it for a parent, which is re-checked with its child).
 */
export const REAL_DIR_RECHECK_MS = 1000;

/**
 * Is `dir` a real directory inside the run? Every part below the run directory is lstat'ed: a
 * directory, not a symbolic link to one (the run directory itself may be a link: it is the
 * user's choice where runs live). True when it is; false when it (or a parent) does not exist;
 * UNSAFE_PATH when a part is a link or not a directory, or `dir` is not below the run
 * directory. Call it before moving, deleting or listing anything in a directory of the run.
 * RACE: a directory swapped for a link after the check is not seen until the next check
 * (REAL_DIR_RECHECK_MS); Node has no openat(O_NOFOLLOW) walk to close that window.
 */
export async function checkRealDir(ctx: RunCtx, dir: string): Promise<boolean> {
  return walkRealDir(ctx, dir, false);
}

/**
 * Was `dir` found a real directory of the run within REAL_DIR_RECHECK_MS (checkRealDir would
 * answer true without a call)? Why: the hot path (claim, submit) asks this synchronously and
 * awaits checkRealDir only when it must look; an await costs a move more than the lookup.
 */
export function isKnownRealDir(ctx: RunCtx, dir: string): boolean {
  const hit = realDirs.get(ctx)?.get(dir);
  return hit !== undefined && Date.now() - hit.at < REAL_DIR_RECHECK_MS;
}

/** Per run context and directory: the number of this context's last mkdir inside it (see mkdirSeqIn). */
const mkdirSeqs = new WeakMap<RunCtx, Map<string, number>>();
let mkdirSeq = 0;

function noteMkdirIn(ctx: RunCtx, parent: string): void {
  let seqs = mkdirSeqs.get(ctx);
  if (!seqs) mkdirSeqs.set(ctx, (seqs = new Map()));
  seqs.set(parent, (mkdirSeq += 1));
}

/**
 * A number that changes whenever this run context makes a directory inside `dir` (0 until it
 * does). Why: a listing of `dir` kept for a moment (pending-lanes.ts) is stale once this process
 * made a new entry there, and must be read again at once.
 */
export function mkdirSeqIn(ctx: RunCtx, dir: string): number {
  return mkdirSeqs.get(ctx)?.get(dir) ?? 0;
}

/** Per run context: directories checkRealDirIfPresent found missing, and when (wall clock, ms). */
const absentDirs = new WeakMap<RunCtx, Map<string, number>>();

/**
 * How long a directory found missing is believed missing without looking again. Why: a claim
 * asks for two directories that are usually absent (pending/<stage>/lanes/, paused/); a claim
 * loop making thousands of claims a second then pays their lstat once per this time, not per
 * claim. What this process creates itself is seen at once (walkRealDir forgets the absence); a
 * lane or pause another process makes is seen within this time.
 */
export const ABSENT_DIR_RECHECK_MS = 100;

/**
 * Was `dir` found missing by checkRealDirIfPresent less than ABSENT_DIR_RECHECK_MS ago (and not
 * made by this process since)? Synchronous: the hot path of a claim asks it before any await.
 */
export function isKnownAbsent(ctx: RunCtx, dir: string): boolean {
  const missingAt = absentDirs.get(ctx)?.get(dir);
  return missingAt !== undefined && Date.now() - missingAt < ABSENT_DIR_RECHECK_MS;
}

/**
 * checkRealDir for a directory that is usually not there (pending/<stage>/lanes/, paused/): the
 * same answer, but a missing one is remembered for ABSENT_DIR_RECHECK_MS and looked for with an
 * lstat that raises no error (Fs.lstatIfExists: an error's stack costs more than the call).
 */
export async function checkRealDirIfPresent(ctx: RunCtx, dir: string): Promise<boolean> {
  const now = Date.now();
  const hit = realDirs.get(ctx)?.get(dir);
  if (hit !== undefined && now - hit.at < REAL_DIR_RECHECK_MS) return true;
  let absent = absentDirs.get(ctx);
  if (!absent) absentDirs.set(ctx, (absent = new Map()));
  const missingAt = absent.get(dir);
  if (missingAt !== undefined && now - missingAt < ABSENT_DIR_RECHECK_MS) return false;
  if (!(await entryExists(ctx, dir))) {
    absent.set(dir, now);
    return false;
  }
  absent.delete(dir);
  return walkRealDir(ctx, dir, false);
}

async function walkRealDir(ctx: RunCtx, dir: string, create: boolean): Promise<boolean> {
  let seen = realDirs.get(ctx);
  if (!seen) realDirs.set(ctx, (seen = new Map()));
  const now = Date.now();
  const hit = seen.get(dir);
  if (hit !== undefined && now - hit.at < REAL_DIR_RECHECK_MS) return true;
  if (dir === ctx.paths.dir) return true;
  const parts = partsBelowRun(ctx.paths.dir, dir);
  if (parts === undefined) throw unsafeDirError(dir, `is not a directory inside the run ${ctx.paths.dir}`);
  let path = ctx.paths.dir;
  for (const part of parts) {
    path = `${path}/${part}`;
    const known = seen.get(path);
    if (known !== undefined && now - known.at < REAL_DIR_RECHECK_MS) continue;
    if (!(await foundRealDir(ctx.fs, path))) {
      if (!create) return false;
      // Why one level at a time: mkdir -p would go through a link planted higher up and create
      // directories outside the run; here every parent was just found real.
      await makeRealDir(ctx, path);
      noteMkdirIn(ctx, dirname(path));
    }
    seen.set(path, { at: now });
    absentDirs.get(ctx)?.delete(path);
  }
  return true;
}

/**
 * mkdir one level and find a real directory there. Why retried (as a listing is): on
 * GlusterFS, when two clients make the same directory at once, the loser's mkdir -p reports
 * ENOENT (its EEXIST is followed by a stat that does not see the winner's directory yet), and a
 * stat right after can still say ENOENT for a few milliseconds.
 */
async function makeRealDir(ctx: RunCtx, path: string): Promise<void> {
  try {
    await retryTransientListing(async () => {
      await ctx.fs.mkdir(path);
      // RACE: mkdir -p also "succeeds" on a link to a directory put there meanwhile: look again.
      if (!(await foundRealDir(ctx.fs, path))) throw Object.assign(new Error(`ENOENT: no real directory at ${path} after mkdir`), { code: 'ENOENT' });
    });
  } catch (err) {
    throw ioError(err, 'creating directory', path);
  }
}

/** Forget what checkRealDir and ensureDir know of `dir`: the next call looks again (after removing it, say). */
export function forgetDir(ctx: RunCtx, dir: string): void {
  ctx.madeDirs.delete(dir);
  realDirs.get(ctx)?.delete(dir);
  absentDirs.get(ctx)?.delete(dir);
}

/**
 * mkdir -p for a directory of the run: state directories are created lazily (git drops empty
 * ones). Each part is created only inside a real directory; UNSAFE_PATH when a part is a link
 * or not a directory (see checkRealDir; its cache makes the usual call free). The run
 * directory itself is created with mkdir -p (it may sit behind the user's links).
 */
export async function ensureDir(ctx: RunCtx, dir: string): Promise<void> {
  if (dir === ctx.paths.dir) {
    if (ctx.madeDirs.has(dir)) return;
    try {
      await ctx.fs.mkdir(dir);
    } catch (err) {
      throw ioError(err, 'creating directory', dir);
    }
  } else {
    await walkRealDir(ctx, dir, true);
  }
  ctx.madeDirs.add(dir);
}

export async function ensureParent(ctx: RunCtx, file: string): Promise<void> {
  await ensureDir(ctx, dirname(file));
}

/**
 * Do `op`, which creates an entry in `dir` (made before with ensureDir), from `source` when it
 * moves or links one. If it fails with ENOENT because `dir` vanished, make `dir` again and retry
 * (a few times). Why: the made-directories cache outlives directories: git removes a directory
 * whose last file a pull, checkout or stash took away, under a daemon that made it hours ago
 * (claims then found "nothing", and births were stranded in moving/); and a claim removes a lane
 * directory it found empty (pending-lanes.ts), maybe between our mkdir and our rename.
 * RACE: ENOENT does not say which path is missing, and `dir` may be back already (made again by
 * a concurrent writer): while `source` is still there, it was `dir`, so retry; once `source` is
 * gone, someone else moved it first: that ENOENT is the caller's answer.
 */
export function intoDir<T>(ctx: RunCtx, dir: string, op: () => Promise<T>, source?: string): Promise<T> {
  // Why the first try outside an async frame: it almost always succeeds, and the frame would
  // cost every rename, link and creation of the hot path.
  let first: Promise<T>;
  try {
    first = op();
  } catch (err) {
    first = Promise.reject(err);
  }
  return first.catch((err: unknown) => {
    if (errnoCode(err) !== 'ENOENT') throw err;
    return retryIntoDir(ctx, dir, op, source, err);
  });
}

/** intoDir after a try failed with ENOENT (`failed`): make `dir` again and retry, while that can help. */
async function retryIntoDir<T>(ctx: RunCtx, dir: string, op: () => Promise<T>, source: string | undefined, failed: unknown): Promise<T> {
  let err = failed;
  for (let attempt = 2; ; attempt += 1) {
    // Why entryExists: a claimer that lost a race lands here; an lstat error would cost it more.
    const dirThere = await entryExists(ctx, dir);
    if (dirThere && (source === undefined || !(await entryExists(ctx, source)))) throw err;
    forgetDir(ctx, dir);
    await ensureDir(ctx, dir);
    try {
      return await op();
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT' || attempt >= INTO_DIR_ATTEMPTS) throw e;
      err = e;
    }
  }
}

/** How many times intoDir tries an operation whose directory keeps vanishing. */
const INTO_DIR_ATTEMPTS = 5;

/** pathExists, without an error object when nothing is there (see Fs.lstatIfExists). */
export async function entryExists(ctx: RunCtx, path: string): Promise<boolean> {
  if (!ctx.fs.lstatIfExists) return pathExists(ctx, path);
  try {
    return (await ctx.fs.lstatIfExists(path)) !== undefined;
  } catch (err) {
    if (errnoCode(err) === 'ENOTDIR') return false;
    throw ioError(err, 'checking', path);
  }
}

/** Does anything exist at `path` (not following a symlink)? */
export async function pathExists(ctx: RunCtx, dir: string): Promise<boolean> {
  try {
    await ctx.fs.lstat(dir);
    return true;
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw ioError(err, 'checking', dir);
  }
}
