import { dirname } from 'node:path';
import { z } from 'zod';
import { TqError, errnoCode, ioError } from '../model/errors.js';
import { durableNodeFs, nodeFs, type Fs } from './fs-layer.js';
import { systemClock, type Clock } from '../model/clock.js';
import { cleanId } from '../model/ids.js';
import { runPaths, type RunPaths } from './run-paths.js';
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
  /** Directories this process has already made (they are created lazily). */
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
  parsePipeline(parsed.data.pipeline, `${file} (pipeline)`);
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

/** mkdir -p, once per process per directory: state directories are created lazily (git drops empty ones). */
export async function ensureDir(ctx: RunCtx, dir: string): Promise<void> {
  if (ctx.madeDirs.has(dir)) return;
  try {
    await ctx.fs.mkdir(dir);
  } catch (err) {
    throw ioError(err, 'creating directory', dir);
  }
  ctx.madeDirs.add(dir);
}

export async function ensureParent(ctx: RunCtx, file: string): Promise<void> {
  await ensureDir(ctx, dirname(file));
}

/**
 * Do `op`, which creates an entry in `dir` (made before with ensureDir). If it fails with
 * ENOENT because `dir` is gone, make `dir` again and retry once. Why: the made-directories
 * cache outlives directories: git removes a directory whose last file a pull, checkout or
 * stash took away, under a daemon that made it hours ago (claims then found "nothing", and
 * births were stranded in moving/).
 */
export async function intoDir<T>(ctx: RunCtx, dir: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT' || (await pathExists(ctx, dir))) throw err;
    ctx.madeDirs.delete(dir);
    await ensureDir(ctx, dir);
    return op();
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
