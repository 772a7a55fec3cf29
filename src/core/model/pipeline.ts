import { z } from 'zod';
import { TqError, isTqError } from './errors.js';
import { validateId } from './ids.js';
import { MAX_DURATION_MS, parseDuration } from './duration.js';
import { formatZodError } from './zod-messages.js';
import { didYouMean } from './closest-name.js';
import { unknownPipelineKeys, type PipelineKeys } from './pipeline-keys.js';

export const DEFAULT_LEASE = '15m';
export const DEFAULT_MAX_ATTEMPTS = 3;

const Duration = z.union([z.string(), z.number()]);

/**
 * When a failed attempt (a worker's `tq fail`, an expired lease) may be retried: `delay` after
 * the first failure, then `fixed` (the same delay every time) or `exponential` (doubling each
 * time), never more than `max`. Without it, a failed attempt is retried at once.
 */
export const RetryPolicy = z.object({
  backoff: z.enum(['exponential', 'fixed']).default('exponential'),
  delay: Duration,
  max: Duration.optional(),
});
export type RetryPolicy = z.infer<typeof RetryPolicy>;

export const StageConfig = z.object({
  /** Lease given to a claim when the claimer passes none (e.g. "10m"). */
  lease: Duration.optional(),
  /** Claims that may expire before the ticket goes to failed/. */
  max_attempts: z.number().int().min(1).max(1000).optional(),
  /** What the worker of this stage should do; copied into the run's AGENTS.md. */
  description: z.string().optional(),
  /** Optional JSON Schemas checked on add and on submit. */
  input_schema: z.record(z.string(), z.unknown()).optional(),
  output_schema: z.record(z.string(), z.unknown()).optional(),
  /** Backoff between failed attempts (see RetryPolicy). */
  retry: RetryPolicy.optional(),
});
export type StageConfig = z.infer<typeof StageConfig>;

export const CascadeRule = z.object({
  from: z.string(),
  to: z.string(),
  /** Dot path into output_data naming an array: one child per element. */
  for_each: z.string().optional(),
  /** Field of each element: children are de-duplicated across the run by its value. */
  key: z.string().optional(),
});
export type CascadeRule = z.infer<typeof CascadeRule>;

export const Pipeline = z.object({
  stages: z.record(z.string(), StageConfig),
  cascade: z.array(CascadeRule).default([]),
  /** Fields of input items whose values are kept as source references (e.g. dialogue node ids). */
  source_ref_fields: z.array(z.string()).optional(),
});
export type Pipeline = z.infer<typeof Pipeline>;

export const DEFAULT_SOURCE_REF_FIELDS = ['id', 'ids', 'node_id', 'node_ids', 'source_id', 'source_ids', 'source_refs'];

/** The keys of each level of a pipeline: the zod shapes above are the one list. */
export const PIPELINE_KEYS: PipelineKeys = {
  pipeline: Object.keys(Pipeline.shape),
  stage: Object.keys(StageConfig.shape),
  'cascade rule': Object.keys(CascadeRule.shape),
  'retry policy': Object.keys(RetryPolicy.shape),
};

export interface ParsePipelineOptions {
  /**
   * `error` (default): a key the format does not know is INVALID_PIPELINE (a pipeline file, at
   * create). `ignore`: it is dropped (the pipeline stored in a run.json: a run written by a tq
   * that knows more keys still opens).
   */
  unknownKeys?: 'error' | 'ignore';
}

/** Validate a pipeline (shape, keys, names, references, no cycles); errors name the file and the field. */
export function parsePipeline(raw: unknown, file: string, opts: ParsePipelineOptions = {}): Pipeline {
  if (opts.unknownKeys !== 'ignore') refuseUnknownKeys(raw, file);
  const parsed = Pipeline.safeParse(raw);
  if (!parsed.success) {
    throw new TqError('INVALID_PIPELINE', `${file}: ${formatZodError(parsed.error)}`, {
      file,
      field: parsed.error.issues[0]?.path.join('.'),
      hint: 'see "Pipeline format" in the README',
    });
  }
  const pipeline = parsed.data;
  const fail = (field: string, message: string): never => {
    throw new TqError('INVALID_PIPELINE', `${file}: field ${field}: ${message}`, { file, field, hint: 'see "Pipeline format" in the README' });
  };
  const stages = Object.keys(pipeline.stages);
  if (stages.length === 0) fail('stages', 'a pipeline needs at least one stage');
  for (const stage of stages) {
    try {
      validateId(stage, 'stage');
    } catch (err) {
      fail(`stages.${stage}`, (err as Error).message);
    }
    const config = pipeline.stages[stage];
    // Why here: a duration over the limit accepted now would crash every later claim, reap and
    // fsck of the run ("Invalid time value"); refusing it at create and at open names it.
    checkDuration(file, `stages.${stage}.lease`, config?.lease);
    checkDuration(file, `stages.${stage}.retry.delay`, config?.retry?.delay);
    checkDuration(file, `stages.${stage}.retry.max`, config?.retry?.max);
  }
  pipeline.cascade.forEach((rule, i) => {
    if (!(rule.from in pipeline.stages)) fail(`cascade.${i}.from`, `"${rule.from}" is not a stage`);
    if (!(rule.to in pipeline.stages)) fail(`cascade.${i}.to`, `"${rule.to}" is not a stage`);
    if (rule.key !== undefined && rule.for_each === undefined) fail(`cascade.${i}.key`, 'key needs for_each');
    if (rule.for_each !== undefined && rule.for_each.trim() === '') fail(`cascade.${i}.for_each`, 'must be a path like new_nouns');
  });
  const cycle = findCycle(pipeline);
  if (cycle) fail('cascade', `rules form a cycle (${cycle.join(' -> ')}); a pipeline must be acyclic`);
  return pipeline;
}

function checkDuration(file: string, field: string, value: string | number | undefined): void {
  if (value === undefined) return;
  try {
    parseDuration(value, field);
  } catch (err) {
    throw new TqError('INVALID_PIPELINE', `${file}: ${(err as Error).message}`, { file, field, hint: isTqError(err) && err.hint ? err.hint : 'see "Pipeline format" in the README' });
  }
}

function refuseUnknownKeys(raw: unknown, file: string): void {
  const unknown = unknownPipelineKeys(raw, PIPELINE_KEYS);
  const first = unknown[0];
  if (first === undefined) return;
  const each = unknown.map((u) => `unknown key ${u.path}${didYouMean(u.key, PIPELINE_KEYS[u.level])}`);
  throw new TqError('INVALID_PIPELINE', `${file}: ${each.join('; ')}`, {
    file,
    field: first.path,
    hint: `the keys of a ${first.level} are: ${PIPELINE_KEYS[first.level].join(', ')} (see "Pipeline format" in the README)`,
  });
}

function findCycle(pipeline: Pipeline): string[] | undefined {
  const next = new Map<string, string[]>();
  for (const r of pipeline.cascade) next.set(r.from, [...(next.get(r.from) ?? []), r.to]);
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (s: string): string[] | undefined => {
    if (state.get(s) === 'done') return undefined;
    if (state.get(s) === 'open') return [...stack.slice(stack.indexOf(s)), s];
    state.set(s, 'open');
    stack.push(s);
    for (const t of next.get(s) ?? []) {
      const c = visit(t);
      if (c) return c;
    }
    stack.pop();
    state.set(s, 'done');
    return undefined;
  };
  for (const s of Object.keys(pipeline.stages)) {
    const c = visit(s);
    if (c) return c;
  }
  return undefined;
}

export function stageConfig(pipeline: Pipeline, stage: string): StageConfig {
  const config = pipeline.stages[stage];
  if (!config) {
    throw new TqError('USAGE', `"${stage}" is not a stage of this run${didYouMean(stage, Object.keys(pipeline.stages))}`, {
      field: 'type',
      hint: `stages are: ${Object.keys(pipeline.stages).join(', ')}`,
    });
  }
  return config;
}

/**
 * Per stage config: its lease, parsed. Why: every claim asks, and parsing the duration (regexps,
 * the field name) is paid per claim otherwise; keyed by the lease text too, should it change.
 */
const leaseMsCache = new WeakMap<object, { lease: string | number | undefined; ms: number }>();

export function leaseMsOf(pipeline: Pipeline, stage: string): number {
  const config = stageConfig(pipeline, stage);
  const cached = leaseMsCache.get(config);
  if (cached !== undefined && cached.lease === config.lease) return cached.ms;
  const ms = parseDuration(config.lease ?? DEFAULT_LEASE, `stages.${stage}.lease`);
  leaseMsCache.set(config, { lease: config.lease, ms });
  return ms;
}

/** The longest lease the reaper trusts; a longer one is taken for clock skew or a hand edit. */
export function maxLeaseMs(pipeline: Pipeline, stage: string): number {
  return Math.max(10 * leaseMsOf(pipeline, stage), 24 * 3_600_000);
}

/**
 * A lease a worker asks for (claim, heartbeat). Why: the reaper clamps leases longer than
 * maxLeaseMs to one stage lease, so a longer request would be cut short without a word.
 */
export function requestedLeaseMs(pipeline: Pipeline, stage: string, lease: string | number): number {
  const ms = parseDuration(lease, 'lease');
  const max = maxLeaseMs(pipeline, stage);
  if (ms > max) {
    throw new TqError('USAGE', `lease ${String(lease).trim()} is longer than the ${max / 3_600_000}h a ${stage} claim may hold`, {
      field: 'lease',
      hint: 'ask for a shorter lease and heartbeat to extend it',
    });
  }
  return ms;
}

export function maxAttemptsOf(pipeline: Pipeline, stage: string): number {
  return stageConfig(pipeline, stage).max_attempts ?? DEFAULT_MAX_ATTEMPTS;
}

/** Rules that cascade out of a stage, with a tag when several rules feed the same target. */
export function rulesFrom(pipeline: Pipeline, stage: string): { rule: CascadeRule; index: number; tag?: string }[] {
  const intoCount = new Map<string, number>();
  for (const r of pipeline.cascade) intoCount.set(r.to, (intoCount.get(r.to) ?? 0) + 1);
  return pipeline.cascade.flatMap((rule, index) =>
    rule.from === stage ? [{ rule, index, ...((intoCount.get(rule.to) ?? 0) > 1 ? { tag: `r${index}` } : {}) }] : [],
  );
}

/**
 * How long after its `attempts`-th failure (1 for the first) a ticket of `stage` waits before it
 * may be claimed again; 0 when the stage has no retry policy (retried at once).
 */
export function retryDelayMs(pipeline: Pipeline, stage: string, attempts: number): number {
  const policy = stageConfig(pipeline, stage).retry;
  if (!policy) return 0;
  const delay = parseDuration(policy.delay, `stages.${stage}.retry.delay`);
  const max = policy.max !== undefined ? parseDuration(policy.max, `stages.${stage}.retry.max`) : MAX_DURATION_MS;
  if (policy.backoff === 'fixed') return Math.min(delay, max);
  // Why the exponent is capped: 2^60 ms is already past any max, and Infinity must not reach a Date.
  return Math.min(delay * 2 ** Math.min(Math.max(attempts - 1, 0), 60), max);
}
