import { TqError } from './errors.js';
import { cleanId } from './ids.js';
import { stageConfig } from './pipeline.js';
import { birthTicket } from './birth-ticket.js';
import { newTicket } from './new-ticket.js';
import { checkStageData } from './stage-schemas.js';
import { mapLimit } from './run-pool.js';
import type { RunCtx } from './run-context.js';
import type { InputItem } from './read-input.js';
import type { JsonObject } from './ticket-schema.js';

export interface AddResult {
  stage: string;
  created: number;
  ticket_ids: string[];
}

/** How many ticket creations run at once: enough to hide fs latency, few enough for EMFILE. */
const ADD_CONCURRENCY = 16;

/** Add root tickets of one stage from work items (streamed; safe for thousands). */
export async function addTickets(ctx: RunCtx, rawStage: string, items: AsyncIterable<InputItem> | Iterable<InputItem>): Promise<AddResult> {
  const stage = cleanId(rawStage, 'stage');
  stageConfig(ctx.config.pipeline, stage);
  const ids = await mapLimit(items, ADD_CONCURRENCY, async ({ item, where }) => {
    const problem = checkStageData(ctx.config.pipeline, stage, 'input', item);
    if (problem) {
      throw new TqError('INVALID_INPUT', `${where}: does not match stages.${stage}.input_schema: ${problem}`, { file: where });
    }
    const ticket = newTicket({ runId: ctx.runId, stage, input: item, now: ctx.clock.now(), pipeline: ctx.config.pipeline });
    await birthTicket(ctx, ticket);
    return ticket.ticket_id;
  });
  return { stage, created: ids.length, ticket_ids: ids };
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
