import { join } from 'node:path';
import { z } from 'zod';
import { TqError } from '../model/errors.js';
import { batchTicketId, cleanId, newBatchId } from '../model/ids.js';
import { stageConfig } from '../model/pipeline.js';
import { birthTicket } from '../protocol/birth-ticket.js';
import { newTicket } from '../model/new-ticket.js';
import { checkStageData } from '../model/stage-schemas.js';
import { mapLimit } from '../store/run-pool.js';
import type { RunCtx } from '../store/run-context.js';
import type { InputItem } from './read-input.js';
import type { JsonObject } from '../model/ticket-schema.js';
import { listDir, readIfExists, writeFileAtomic } from '../store/atomic-write.js';
import { batchFileName, isJsonFileName } from '../store/run-names.js';

export interface AddResult {
  stage: string;
  batch_id: string;
  created: number;
  /** Items whose ticket already existed (a resumed batch). */
  existing: number;
  resumed: boolean;
  ticket_ids: string[];
}

export const InputBatch = z.object({
  batch_id: z.string(),
  stage: z.string(),
  source: z.string(),
  started_at: z.string(),
  finished_at: z.string().nullable(),
  items: z.number().int().nullable(),
});
export type InputBatch = z.infer<typeof InputBatch>;

export interface AddOptions {
  /** Where the items come from (a file path); recorded so an interrupted add can be resumed. */
  source?: string;
  /** Reuse the unfinished batch of the same stage and source, if there is one. */
  resume?: boolean;
}

/** How many ticket creations run at once: enough to hide fs latency, few enough for EMFILE. */
const ADD_CONCURRENCY = 16;

function batchPath(ctx: RunCtx, batchId: string): string {
  return join(ctx.paths.inputs, batchFileName(batchId));
}

/** The newest unfinished batch of this stage and source, if any (what a resume continues). */
export async function findUnfinishedBatch(ctx: RunCtx, stage: string, source: string): Promise<InputBatch | undefined> {
  const found: InputBatch[] = [];
  for (const name of await listDir(ctx, ctx.paths.inputs)) {
    if (!isJsonFileName(name)) continue;
    const text = await readIfExists(ctx, join(ctx.paths.inputs, name));
    const parsed = text === undefined ? undefined : InputBatch.safeParse(safeJson(text));
    if (parsed?.success && parsed.data.finished_at === null && parsed.data.stage === stage && parsed.data.source === source) found.push(parsed.data);
  }
  return found.sort((a, b) => b.batch_id.localeCompare(a.batch_id))[0];
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Add root tickets of one stage from work items (streamed; safe for millions). Items of one
 * call form a batch with deterministic ids, recorded in inputs/<batch>.json, so an add killed
 * half-way can be re-run with `resume` and creates only what is missing.
 */
export async function addTickets(ctx: RunCtx, rawStage: string, items: AsyncIterable<InputItem> | Iterable<InputItem>, opts: AddOptions = {}): Promise<AddResult> {
  const stage = cleanId(rawStage, 'stage');
  stageConfig(ctx.config.pipeline, stage);
  const source = opts.source ?? '<api>';
  const previous = opts.resume && opts.source !== undefined ? await findUnfinishedBatch(ctx, stage, source) : undefined;
  const batch: InputBatch = previous ?? { batch_id: newBatchId(ctx.clock.now()), stage, source, started_at: ctx.clock.now().toISOString(), finished_at: null, items: null };
  // Why: the batch record comes first, so a crash mid-add leaves something to resume from.
  if (!previous) await writeFileAtomic(ctx, batchPath(ctx, batch.batch_id), `${JSON.stringify(batch, null, 2)}\n`);
  let created = 0;
  let existing = 0;
  let count = 0;
  let ids: string[];
  try {
    ids = await mapLimit(items, ADD_CONCURRENCY, async ({ item, where }, index) => {
      await checkStageData(ctx.config.pipeline, stage, 'input', item, { file: where, pipelineFile: ctx.paths.runJson, runId: ctx.runId });
      const ticketId = batchTicketId(stage, batch.batch_id, index);
      const ticket = newTicket({ runId: ctx.runId, stage, input: item, now: ctx.clock.now(), pipeline: ctx.config.pipeline, ticketId });
      if ((await birthTicket(ctx, ticket)) === 'created') created += 1;
      else existing += 1;
      count += 1;
      return ticketId;
    });
  } catch (err) {
    if (err instanceof TqError) {
      const note = `${created} ticket(s) of batch ${batch.batch_id} were created before this error; fix the input and re-run the same command with the same file to resume (already created items are skipped)`;
      throw new TqError(err.code, `${err.message}\n  ${note}`, { ...(err.file ? { file: err.file } : {}), ...(err.field ? { field: err.field } : {}), hint: err.hint ?? note, data: { batch_id: batch.batch_id, created } });
    }
    throw err;
  }
  await writeFileAtomic(ctx, batchPath(ctx, batch.batch_id), `${JSON.stringify({ ...batch, finished_at: ctx.clock.now().toISOString(), items: count }, null, 2)}\n`);
  return { stage, batch_id: batch.batch_id, created, existing, resumed: previous !== undefined, ticket_ids: ids };
}

export function* itemsOf(objects: JsonObject[], label = 'input'): Generator<InputItem> {
  for (let i = 0; i < objects.length; i += 1) yield { item: objects[i] as JsonObject, where: `${label}[${i}]` };
}

/** The stage new input goes to by default: the first stage no cascade rule feeds. */
export function entryStage(ctx: RunCtx): string {
  const targets = new Set(ctx.config.pipeline.cascade.map((r) => r.to));
  const entry = Object.keys(ctx.config.pipeline.stages).find((s) => !targets.has(s));
  return entry ?? Object.keys(ctx.config.pipeline.stages)[0] ?? '';
}
