import { join } from 'node:path';
import { TqError, errnoCode, ioError, isTqError } from '../model/errors.js';
import { cleanId, nonce } from '../model/ids.js';
import { parsePipeline, type Pipeline } from '../model/pipeline.js';
import { compileStageSchemas } from '../model/stage-schemas.js';
import { runPaths, runPathsAt } from '../store/run-paths.js';
import { openRun, type Durability, type RunConfig, type RunCtx, type RunOptions } from '../store/run-context.js';
import { writeFileAtomic } from '../store/atomic-write.js';
import { durableNodeFs, nodeFs, type Fs } from '../store/fs-layer.js';
import { creatingDirName } from '../store/run-names.js';
import { removeTree } from '../store/remove-tree.js';
import { removeAbandonedBuilds } from '../store/run-builds.js';
import { SCHEMA_VERSION } from '../model/ticket-schema.js';
import { systemClock } from '../model/clock.js';
import { writeAgentDocs } from './agent-docs.js';

export interface CreateRunOptions extends RunOptions {
  /** The pipeline object, or raw JSON from a file (validated here). */
  pipeline: unknown;
  pipelineFile?: string;
  description?: string;
  durability?: Durability;
  /**
   * Fill the run before it appears under its name (e.g. add its input tickets). The run is
   * built under a temp name: when this throws, no run is created and nothing is left.
   */
  fill?: (ctx: RunCtx) => Promise<void>;
}

/** Files git should never see in a run: temp files and the daemon's lock. */
export const RUN_GITIGNORE = ['# written by tq: temp files and locks never belong in git', '.tmp/', '*.tmp', '.daemon.lock', ''].join('\n');

/**
 * Create <root>/<run-id>/ with run.json, .gitignore, AGENTS.md and schemas/ (and whatever
 * `fill` adds), all or nothing: the run is built in <root>/.<run-id>.creating-<pid>-<n>/ and
 * renamed into place complete. A failed create (a bad input line, a full disk) removes it; a
 * killed one leaves it hidden, never a half run (`tq runs` lists it; the next create of the
 * same id removes it).
 */
export async function createRun(root: string, rawRunId: string, opts: CreateRunOptions): Promise<RunCtx> {
  const runId = cleanId(rawRunId, 'run id');
  const pipelineFile = opts.pipelineFile ?? 'pipeline';
  const pipeline: Pipeline = parsePipeline(opts.pipeline, pipelineFile);
  // Why before anything is written: a schema Ajv cannot compile is an INVALID_PIPELINE, and no run.
  await compileStageSchemas(pipeline, pipelineFile);
  const target = runPaths(root, runId).dir;
  const durability = opts.durability ?? 'full';
  const fs = opts.fs ?? (durability === 'full' ? durableNodeFs : nodeFs);
  try {
    await fs.mkdir(root);
  } catch (err) {
    throw ioError(err, 'creating runs root', root);
  }
  // Why before building: a create of an existing run fails at once, not after reading its input.
  await refuseExisting(fs, target, runId);
  await removeAbandonedBuilds(fs, root, runId);
  const building = join(root, creatingDirName(runId, process.pid, nonce()));
  try {
    await fs.mkdir(building);
  } catch (err) {
    throw ioError(err, 'creating run directory', building);
  }
  const clock = opts.clock ?? systemClock;
  const config: RunConfig = {
    schema_version: SCHEMA_VERSION,
    run_id: runId,
    created_at: clock.now().toISOString(),
    pipeline,
    durability,
    ...(opts.description !== undefined ? { description: opts.description } : {}),
  };
  const ctx: RunCtx = { root, runId, paths: runPathsAt(building), config, fs, clock, durable: durability === 'full', madeDirs: new Set() };
  try {
    await writeFileAtomic(ctx, `${building}/.gitignore`, RUN_GITIGNORE);
    await writeAgentDocs(ctx);
    await writeFileAtomic(ctx, ctx.paths.runJson, `${JSON.stringify(config, null, 2)}\n`);
    await opts.fill?.(ctx);
    await publishRun(fs, building, target, runId);
  } catch (err) {
    await removeTree(fs, building).catch(() => undefined);
    throw notCreated(err, runId);
  }
  if (ctx.durable) {
    // Why: the rename is the create; a power cut must not undo a create reported done.
    try {
      await fs.syncDir(root);
    } catch (err) {
      throw ioError(err, 'syncing directory', root);
    }
  }
  return openRun(root, runId, opts);
}

/** RUN_EXISTS when something is at the run's path already (an empty directory is nothing). */
async function refuseExisting(fs: Fs, target: string, runId: string): Promise<void> {
  let names: string[];
  try {
    names = await fs.readdir(target);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') throw runExists(runId, target, 'is not a directory');
    throw ioError(err, 'checking', target);
  }
  if (names.length === 0) return;
  throw runExists(runId, target, names.includes('run.json') ? undefined : 'is a directory that is not a run (no run.json)');
}

/**
 * Rename the complete run into place. RACE: rename(2) of a directory onto an existing non-empty
 * directory fails (ENOTEMPTY or EEXIST): of two creates of one id, the second finds the first's
 * run there and reports RUN_EXISTS; onto an empty directory it succeeds (it replaces it).
 */
async function publishRun(fs: Fs, building: string, target: string, runId: string): Promise<void> {
  try {
    await fs.rename(building, target);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOTEMPTY' || code === 'EEXIST') throw runExists(runId, target, undefined);
    if (code === 'ENOTDIR') throw runExists(runId, target, 'is not a directory');
    throw ioError(err, 'publishing run directory', target);
  }
}

function runExists(runId: string, dir: string, why: string | undefined): TqError {
  return new TqError('RUN_EXISTS', why === undefined ? `run "${runId}" already exists at ${dir}` : `${dir} ${why}: cannot create run "${runId}" there`, {
    file: dir,
    hint: why === undefined ? `add tickets with \`tq add ${runId} --type <stage> --input FILE\`, or pick another run id` : 'move it away, or pick another run id',
  });
}

/** A create's failure, saying that no run was made (RUN_EXISTS says so itself). */
function notCreated(err: unknown, runId: string): unknown {
  if (!isTqError(err) || err.code === 'RUN_EXISTS') return err;
  return new TqError(err.code, `${err.message}\n  run "${runId}" was not created (nothing was left behind); fix this and run the same command again`, {
    ...(err.file !== undefined ? { file: err.file } : {}),
    ...(err.field !== undefined ? { field: err.field } : {}),
    ...(err.hint !== undefined ? { hint: err.hint } : {}),
    ...(err.data !== undefined ? { data: err.data } : {}),
  });
}
