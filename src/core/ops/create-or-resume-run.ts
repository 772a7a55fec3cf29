import { isTqError } from '../model/errors.js';
import { parsePipeline } from '../model/pipeline.js';
import { openRun, type RunCtx } from '../store/run-context.js';
import { createRun, type CreateRunOptions } from './create-run.js';
import { addTickets, entryStage, findUnfinishedBatch, type AddResult } from './add-tickets.js';
import type { InputItem } from './read-input.js';
import { listDir } from '../store/atomic-write.js';
import { isJsonFileName } from '../store/run-names.js';

export interface CreateOrResumeOptions extends Omit<CreateRunOptions, 'fill'> {
  /** The run's first tickets (e.g. readInputItems(file)); none: an empty run. */
  items?: AsyncIterable<InputItem> | Iterable<InputItem>;
  /**
   * Where the items come from (a file path): its name is recorded with their batch, and what a
   * resume matches. '-' (stdin) is recorded but never resumed.
   */
  source?: string;
  /** Stage of the input tickets (default: the entry stage). */
  stage?: string;
  /** Add every item, even a repeat of one before it in the input (see addTickets). */
  allowDuplicates?: boolean;
}

export interface CreateOrResumeResult {
  ctx: RunCtx;
  /** The run existed from an interrupted create, and this call finished it. */
  resumed: boolean;
  /** The input batch, when there were items. */
  added: AddResult | undefined;
}

/**
 * Create a run and add its input tickets, like `tq create --input FILE`: all or nothing. The
 * tickets are added while the run is built under a temp name (createRun `fill`), so a bad item
 * or a kill leaves no run, and running the same create again starts afresh. A run left by an
 * older tq, which created runs piecemeal, with an unfinished input batch of the same stage and
 * source (or no input at all) is resumed instead of failing with RUN_EXISTS.
 */
export async function createOrResumeRun(root: string, rawRunId: string, opts: CreateOrResumeOptions): Promise<CreateOrResumeResult> {
  const { items, source, stage, allowDuplicates, ...createOpts } = opts;
  let added: AddResult | undefined;
  const fill = items === undefined ? undefined : async (ctx: RunCtx): Promise<void> => {
    // Why no partial report: a failure here leaves no run, so "N created before the error" would mislead.
    added = await addTickets(ctx, stage ?? entryStage(ctx), items, { source, allowDuplicates, reportPartial: false });
  };
  try {
    const ctx = await createRun(root, rawRunId, { ...createOpts, fill });
    return { ctx, resumed: false, added };
  } catch (err) {
    const resumable = items === undefined ? undefined : await openResumable(root, rawRunId, opts, err);
    if (!resumable || items === undefined) throw err;
    added = await addTickets(resumable, stage ?? entryStage(resumable), items, { source, resume: true, allowDuplicates });
    return { ctx: resumable, resumed: true, added };
  }
}

/** The run a failed create left to resume, or undefined when `err` is not that case. */
async function openResumable(root: string, rawRunId: string, opts: CreateOrResumeOptions, err: unknown): Promise<RunCtx | undefined> {
  // Why not stdin: it names no particular input, so a batch from it cannot be matched.
  if (!isTqError(err, 'RUN_EXISTS') || opts.items === undefined || opts.source === undefined || opts.source === '-') return undefined;
  const ctx = await openRun(root, rawRunId, { fs: opts.fs, clock: opts.clock, durability: opts.durability });
  const stage = opts.stage ?? entryStage(ctx);
  const samePipeline = JSON.stringify(ctx.config.pipeline) === JSON.stringify(parsePipeline(opts.pipeline, opts.pipelineFile ?? 'pipeline'));
  if (!samePipeline) return undefined;
  // Why: an older tq killed after run.json but before its batch record left a run with no
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
