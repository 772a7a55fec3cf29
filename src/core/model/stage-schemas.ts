import { z } from 'zod';
import { TqError } from './errors.js';
import type { Pipeline } from './pipeline.js';
import { formatZodError } from './zod-messages.js';

type Validator = (value: unknown) => string | undefined;
const cache = new WeakMap<object, Validator>();

function compile(schema: Record<string, unknown>, where: string): Validator {
  const hit = cache.get(schema);
  if (hit) return hit;
  let zs: z.ZodType;
  try {
    zs = z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
  } catch (err) {
    throw new TqError('INVALID_PIPELINE', `${where}: not a JSON Schema zod can use: ${(err as Error).message}`, { field: where });
  }
  const v: Validator = (value) => {
    const r = zs.safeParse(value);
    return r.success ? undefined : formatZodError(r.error);
  };
  cache.set(schema, v);
  return v;
}

/** Check data against the stage's optional input/output JSON Schema; returns a message or undefined. */
export function checkStageData(pipeline: Pipeline, stage: string, which: 'input' | 'output', data: unknown): string | undefined {
  const schema = pipeline.stages[stage]?.[which === 'input' ? 'input_schema' : 'output_schema'];
  if (!schema) return undefined;
  return compile(schema, `stages.${stage}.${which}_schema`)(data);
}
