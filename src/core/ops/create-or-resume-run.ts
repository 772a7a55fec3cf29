import { isTqError } from '../model/errors.js';
import { parsePipeline } from '../model/pipeline.js';
import { openRun, type RunCtx } from '../store/run-context.js';
import { createRun, type CreateRunOptions } from './create-run.js';
import { addTickets, entryStage, findUnfinishedBatch, type AddResult } from './add-tickets.js';
import type { InputItem } from './read-input.js';
import { listDir } from '../store/atomic-write.js';
import { isJsonFileName } from '../store/run-names.js';

export interface CreateOrResumeOptions extends CreateRunOptions {
  /** The run's first tickets (e.g. readInputItems(file)); none: an empty run. */
  items?: AsyncIterable<InputItem> | Iterable<InputItem>;
  /**
   * Where the items come from (a file path): recorded with their batch, and what a resume
   * matches. '-' (stdin) is recorded but never resumed.
   */
  source?: string;
  /** Stage of the input tickets (default: the entry stage). */
  stage?: string;
}

export interface CreateOrResumeResult {
  ctx: RunCtx;
  /** The run existed from an interrupted create, and this call finished it. */
  resumed: boolean;
  /** The input batch, when there were items. */
  added: AddResult | undefined;
}

/**
 * Create a run and add its input tickets, like `tq create --input FILE`. A create killed
 * half-way is finished by calling this again with the same input: when the run exists with
 * the same pipeline and an unfinished input batch of the same stage and source, that batch is
 * resumed (items already created are skipped) instead of failing with RUN_EXISTS.
 */
export async function createOrResumeRun(root: string, rawRunId: string, opts: CreateOrResumeOptions): Promise<CreateOrResumeResult> {
  const { items, source, stage, ...createOpts } = opts;
  let ctx: RunCtx;
  let resumed = false;
  try {
    ctx = await createRun(root, rawRunId, createOpts);
  } catch (err) {
    const resumable = await openResumable(root, rawRunId, opts, err);
    if (!resumable) throw err;
    ctx = resumable;
    resumed = true;
  }
  const added = items !== undefined ? await addTickets(ctx, stage ?? entryStage(ctx), items, { source, resume: resumed }) : undefined;
  return { ctx, resumed, added };
}

/** The run a failed create left to resume, or undefined when `err` is not that case. */
async function openResumable(root: string, rawRunId: string, opts: CreateOrResumeOptions, err: unknown): Promise<RunCtx | undefined> {
  // Why not stdin: it names no particular input, so a batch from it cannot be matched.
  if (!isTqError(err, 'RUN_EXISTS') || opts.items === undefined || opts.source === undefined || opts.source === '-') return undefined;
  const ctx = await openRun(root, rawRunId, { fs: opts.fs, clock: opts.clock, durability: opts.durability });
  const stage = opts.stage ?? entryStage(ctx);
  const samePipeline = JSON.stringify(ctx.config.pipeline) === JSON.stringify(parsePipeline(opts.pipeline, opts.pipelineFile ?? 'pipeline'));
  if (!samePipeline) return undefined;
  // RACE: a create killed after run.json but before its batch record leaves a run with no
  // input at all; re-running the same create then adds the input instead of failing.
  if (!(await findUnfinishedBatch(ctx, stage, opts.source)) && !(await hasNoInputYet(ctx))) return undefined;
  return ctx;
}

/** No input batch recorded and no ticket ever born: a run whose create died before its input. */
async function hasNoInputYet(ctx: RunCtx): Promise<boolean> {
  if ((await listDir(ctx, ctx.paths.inputs)).some(isJsonFileName)) return false;
  for (const stage of await listDir(ctx, ctx.paths.registry)) {
    if ((await listDir(ctx, `${ctx.paths.registry}/${stage}`)).length > 0) return false;
  }
  return true;
}
