import { basename, join } from 'node:path';
import { z } from 'zod';
import { TqError } from '../model/errors.js';
import { batchTicketId, cleanId, newBatchId, newTicketId } from '../model/ids.js';
import { itemKeyOf } from '../model/item-key.js';
import { stageConfig } from '../model/pipeline.js';
import { birthTicket, publishStrandedBirth, registryPath } from '../protocol/birth-ticket.js';
import { recordItem } from '../protocol/item-index.js';
import { newTicket } from '../model/new-ticket.js';
import { checkStageData } from '../model/stage-schemas.js';
import { mapLimit } from '../store/run-pool.js';
import { BIRTH_BATCH, mapInBirthBatches } from './birth-batches.js';
import { pathExists, type RunCtx } from '../store/run-context.js';
import type { InputItem } from './read-input.js';
import type { JsonObject } from '../model/ticket-schema.js';
import { listDir, readIfExists, writeFileAtomic } from '../store/atomic-write.js';
import { batchFileName, isJsonFileName } from '../store/run-names.js';
import { scheduleItem, type ScheduledItem, type ScheduleOptions } from './work-item-schedule.js';

export interface AddResult {
  stage: string;
  batch_id: string;
  created: number;
  /** Items already in the run (same key, same content): not added again. */
  existing: number;
  /** Items whose id was added before with other content: not added (see `changed_items`). */
  changed: number;
  /** The first few of those: where each is in the input, and the ticket its id already has. */
  changed_items: { where: string; item_key: string; ticket_id: string }[];
  resumed: boolean;
  /** The ticket of every item, new or already present (not of changed ones), in input order. */
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

export interface AddOptions extends ScheduleOptions {
  /** Where the items come from (a file path); its name is recorded so an interrupted add can be resumed. */
  source?: string;
  /** Reuse the unfinished batch of the same stage and source, if there is one. */
  resume?: boolean;
  /** Add every item, even one already in the run (its ticket then has the same `item_key`). */
  allowDuplicates?: boolean;
  /** Say in a failure how many tickets were made before it (default true; false when the caller throws the run away). */
  reportPartial?: boolean;
}

/** How many ticket creations run at once: enough to hide fs latency, few enough for EMFILE. */
const ADD_CONCURRENCY = 16;
/**
 * How many run at once in a durable add (births in group-committed batches). Why more: each
 * birth waits for its own file fsyncs, and the more births wait together, the more of their
 * directory fsyncs one call serves (measured on 2,000 births: 16 in flight made 1,350 directory
 * fsyncs, 64 made 250, 256 made 73 but ran no faster: the thread pool runs 4 fsyncs at a time).
 */
const DURABLE_ADD_CONCURRENCY = 64;
/** How many changed items an AddResult names. */
const CHANGED_SHOWN = 5;

function batchPath(ctx: RunCtx, batchId: string): string {
  return join(ctx.paths.inputs, batchFileName(batchId));
}

/**
 * What a batch records as its source: the input file's name only, or `-` for stdin. Why not the
 * path as given: the run is committed and cloned, and a path of one machine means nothing (and
 * tells too much) in another; the name is enough to tell batches apart and to resume one.
 */
export function inputSourceLabel(source: string): string {
  return source === '-' || source === '/dev/stdin' ? '-' : basename(source);
}

/** The newest unfinished batch of this stage and source, if any (what a resume continues). */
export async function findUnfinishedBatch(ctx: RunCtx, stage: string, source: string): Promise<InputBatch | undefined> {
  const label = inputSourceLabel(source);
  const found: InputBatch[] = [];
  for (const name of await listDir(ctx, ctx.paths.inputs)) {
    if (!isJsonFileName(name)) continue;
    const text = await readIfExists(ctx, join(ctx.paths.inputs, name));
    const parsed = text === undefined ? undefined : InputBatch.safeParse(safeJson(text));
    // Why basename on the record too: runs made before sources were recorded by name hold paths.
    if (parsed?.success && parsed.data.finished_at === null && parsed.data.stage === stage && inputSourceLabel(parsed.data.source) === label) found.push(parsed.data);
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

/** What adding one item did. */
type ItemOutcome = { kind: 'created' | 'existing'; ticketId: string } | { kind: 'changed'; ticketId: string; where: string; itemKey: string };

/**
 * Add root tickets of one stage from work items (streamed; safe for millions). Each item's key
 * (its `id`, else a hash of its content: model/item-key.ts) is recorded in items/<stage>/ and in
 * its ticket, so adding the same item again adds nothing (unless `allowDuplicates`), also across
 * processes adding at once and after a crash. Items of one call form a batch recorded in
 * inputs/<batch>.json, so an add killed half-way can be re-run with `resume`.
 */
export async function addTickets(ctx: RunCtx, rawStage: string, items: AsyncIterable<InputItem> | Iterable<InputItem>, opts: AddOptions = {}): Promise<AddResult> {
  const stage = cleanId(rawStage, 'stage');
  stageConfig(ctx.config.pipeline, stage);
  const source = opts.source !== undefined ? inputSourceLabel(opts.source) : '<api>';
  const previous = opts.resume && opts.source !== undefined ? await findUnfinishedBatch(ctx, stage, opts.source) : undefined;
  const batch: InputBatch = previous ?? { batch_id: newBatchId(ctx.clock.now()), stage, source, started_at: ctx.clock.now().toISOString(), finished_at: null, items: null };
  // Why: the batch record comes first, so a crash mid-add leaves something to resume from.
  if (!previous) await writeFileAtomic(ctx, batchPath(ctx, batch.batch_id), `${JSON.stringify(batch, null, 2)}\n`);
  const tally = { created: 0, existing: 0, changed: 0 };
  const changedItems: AddResult['changed_items'] = [];
  let outcomes: ItemOutcome[];
  try {
    const one = async (input: InputItem, index: number, deferSync?: Set<string>): Promise<ItemOutcome> => {
      const outcome = await addItem(ctx, stage, batch.batch_id, index, scheduleInput(ctx, input, opts), opts.allowDuplicates === true, deferSync);
      tally[outcome.kind] += 1;
      if (outcome.kind === 'changed' && changedItems.length < CHANGED_SHOWN) changedItems.push({ where: outcome.where, item_key: outcome.itemKey, ticket_id: outcome.ticketId });
      return outcome;
    };
    // Why batches only when durable: they exist to share the directory fsyncs (group commit).
    outcomes = ctx.durable
      ? await mapInBirthBatches(ctx, items, { size: BIRTH_BATCH, limit: DURABLE_ADD_CONCURRENCY }, one)
      : await mapLimit(items, ADD_CONCURRENCY, (input, index) => one(input, index));
  } catch (err) {
    if (err instanceof TqError && opts.reportPartial !== false) {
      const note = `${tally.created} ticket(s) of batch ${batch.batch_id} were created before this error; fix the input and re-run the same command: items already added are skipped`;
      throw new TqError(err.code, `${err.message}\n  ${note}`, { ...(err.file ? { file: err.file } : {}), ...(err.field ? { field: err.field } : {}), hint: err.hint ?? note, data: { batch_id: batch.batch_id, created: tally.created } });
    }
    throw err;
  }
  await writeFileAtomic(ctx, batchPath(ctx, batch.batch_id), `${JSON.stringify({ ...batch, finished_at: ctx.clock.now().toISOString(), items: outcomes.length }, null, 2)}\n`);
  const ticketIds = outcomes.filter((o) => o.kind !== 'changed').map((o) => o.ticketId);
  return { stage, batch_id: batch.batch_id, ...tally, changed_items: changedItems, resumed: previous !== undefined, ticket_ids: ticketIds };
}

/** Check one item, record its key, and birth its ticket unless the run has the item already. */
/** An input item with its scheduling taken out of it (an envelope's input_data, `--priority`, `--delay`). */
type ScheduledInput = InputItem & { schedule: ScheduledItem['schedule'] };

function scheduleInput(ctx: RunCtx, { item: raw, where }: InputItem, opts: ScheduleOptions): ScheduledInput {
  const { input, schedule } = scheduleItem(raw, where, opts, ctx.clock.now().getTime());
  return { item: input, where, schedule };
}

async function addItem(ctx: RunCtx, stage: string, batchId: string, index: number, { item, where, schedule }: ScheduledInput, allowDuplicates: boolean, deferSync?: Set<string>): Promise<ItemOutcome> {
  await checkStageData(ctx.config.pipeline, stage, 'input', item, { file: where, pipelineFile: ctx.paths.runJson, runId: ctx.runId });
  const key = itemKeyOf(item);
  // Why batch ids for duplicates: deterministic, so resuming such an add does not double it again.
  const offered = allowDuplicates ? batchTicketId(stage, batchId, index) : newTicketId(stage, ctx.clock.now());
  const recorded = await recordItem(ctx, stage, key, offered);
  let ticketId = offered;
  if (!allowDuplicates) {
    if (recorded.kind === 'changed') return { kind: 'changed', ticketId: recorded.ticketId, where, itemKey: key.key };
    ticketId = recorded.ticketId;
    if (recorded.kind === 'same' && (await pathExists(ctx, registryPath(ctx, stage, ticketId)))) {
      // Why publish: a birth whose adder died after registering it waits in moving/.
      await publishStrandedBirth(ctx, stage, ticketId);
      return { kind: 'existing', ticketId };
    }
  }
  // Born here also when the entry names a ticket never born (its adder died, or is still at it).
  const ticket = { ...newTicket({ runId: ctx.runId, stage, input: item, now: ctx.clock.now(), pipeline: ctx.config.pipeline, ticketId, itemKey: key.key }), ...schedule };
  return { kind: (await birthTicket(ctx, ticket, deferSync ? { deferSync } : {})) === 'created' ? 'created' : 'existing', ticketId };
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
