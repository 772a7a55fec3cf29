import { mkdir, stat } from 'node:fs/promises';
import { TqError, errnoCode, ioError } from '../model/errors.js';
import { cleanId } from '../model/ids.js';
import { parsePipeline, type Pipeline } from '../model/pipeline.js';
import { compileStageSchemas } from '../model/stage-schemas.js';
import { runPaths } from '../store/run-paths.js';
import { openRun, type Durability, type RunConfig, type RunCtx, type RunOptions } from '../store/run-context.js';
import { writeFileAtomic } from '../store/atomic-write.js';
import { SCHEMA_VERSION } from '../model/ticket-schema.js';
import { systemClock } from '../model/clock.js';
import { writeAgentDocs } from './agent-docs.js';

export interface CreateRunOptions extends RunOptions {
  /** The pipeline object, or raw JSON from a file (validated here). */
  pipeline: unknown;
  pipelineFile?: string;
  description?: string;
  durability?: Durability;
}

/** Files git should never see in a run: temp files and the daemon's lock. */
export const RUN_GITIGNORE = ['# written by tq: temp files and locks never belong in git', '.tmp/', '*.tmp', '.daemon.lock', ''].join('\n');

/** Create runs/<run-id>/ with run.json, .gitignore, AGENTS.md and schemas/. */
export async function createRun(root: string, rawRunId: string, opts: CreateRunOptions): Promise<RunCtx> {
  const runId = cleanId(rawRunId, 'run id');
  const pipelineFile = opts.pipelineFile ?? 'pipeline';
  const pipeline: Pipeline = parsePipeline(opts.pipeline, pipelineFile);
  await compileStageSchemas(pipeline, pipelineFile);
  const paths = runPaths(root, runId);
  try {
    await mkdir(root, { recursive: true });
  } catch (err) {
    throw ioError(err, 'creating runs root', root);
  }
  try {
    // RACE: mkdir without recursive fails with EEXIST, so two creators cannot share a run id.
    await mkdir(paths.dir);
  } catch (err) {
    if (errnoCode(err) === 'EEXIST' && (await runJsonExists(paths.runJson))) {
      throw new TqError('RUN_EXISTS', `run "${runId}" already exists at ${paths.dir}`, {
        file: paths.dir,
        hint: `add tickets with \`tq add ${runId} --type <stage> --input FILE\`, or pick another run id`,
      });
    }
    // Why: a directory without run.json is a create that died half-way; finish it.
    if (errnoCode(err) !== 'EEXIST') throw ioError(err, 'creating run directory', paths.dir);
  }
  const clock = opts.clock ?? systemClock;
  const config: RunConfig = {
    schema_version: SCHEMA_VERSION,
    run_id: runId,
    created_at: clock.now().toISOString(),
    pipeline,
    durability: opts.durability ?? 'full',
    ...(opts.description !== undefined ? { description: opts.description } : {}),
  };
  const bootstrap: RunCtx = {
    root,
    runId,
    paths,
    config,
    fs: opts.fs ?? (await import('../store/fs-layer.js')).nodeFs,
    clock,
    durable: false,
    madeDirs: new Set(),
  };
  await writeFileAtomic(bootstrap, `${paths.dir}/.gitignore`, RUN_GITIGNORE);
  await writeAgentDocs(bootstrap);
  // Why: run.json last — a run directory without run.json is an unfinished create, not a run.
  await writeFileAtomic(bootstrap, paths.runJson, `${JSON.stringify(config, null, 2)}\n`);
  return openRun(root, runId, opts);
}

async function runJsonExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
