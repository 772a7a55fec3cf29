import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createRun } from '../../src/core/ops/create-run.js';
import { openRun, type RunCtx } from '../../src/core/store/run-context.js';
import { addTickets, itemsOf } from '../../src/core/ops/add-tickets.js';
import { fixedClock, type Clock } from '../../src/core/model/clock.js';
import type { JsonObject } from '../../src/core/model/ticket-schema.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const EXAMPLE_PIPELINE_FILE = fileURLToPath(new URL('../../examples/pipeline.json', import.meta.url));

/** examples/pipeline.json: parse -> translate -> curate (for_each new_nouns, key noun). */
export function examplePipeline(): unknown {
  return JSON.parse(readFileSync(EXAMPLE_PIPELINE_FILE, 'utf8')) as unknown;
}

export const T0 = '2030-01-01T00:00:00.000Z';

export interface TestRun {
  ctx: RunCtx;
  clock: ReturnType<typeof fixedClock>;
}

/** A run with durability 'none' and a fixed clock (tests move it; they never sleep). */
export async function makeRun(root: string, runId = 'demo', pipeline: unknown = examplePipeline(), clock = fixedClock(T0)): Promise<TestRun> {
  const ctx = await createRun(root, runId, { pipeline, durability: 'none', clock });
  return { ctx, clock };
}

/** Open the same run again (a fresh context, as another process would). */
export async function reopen(ctx: RunCtx, clock?: Clock): Promise<RunCtx> {
  return openRun(ctx.root, ctx.runId, { durability: 'none', ...(clock ? { clock } : {}) });
}

export async function addItems(ctx: RunCtx, stage: string, items: JsonObject[]): Promise<string[]> {
  return (await addTickets(ctx, stage, itemsOf(items))).ticket_ids;
}

/** n simple parse items: {id: "n<i>", text: "..."} */
export function parseItems(n: number): JsonObject[] {
  return Array.from({ length: n }, (_, i) => ({ id: `n${i}`, text: `line ${i}` }));
}
