/** The keys a pipeline may have at each level (taken from its zod schemas, so a new key is known by being declared). */
export interface PipelineKeys {
  pipeline: readonly string[];
  stage: readonly string[];
  'cascade rule': readonly string[];
  'retry policy': readonly string[];
}

export interface UnknownKey {
  /** Dot path of the key, e.g. `stages.parse.max_attempt`. */
  path: string;
  key: string;
  level: keyof PipelineKeys;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function unknownIn(obj: unknown, keys: PipelineKeys, level: keyof PipelineKeys, prefix: string): UnknownKey[] {
  if (!isObject(obj)) return [];
  return Object.keys(obj)
    .filter((key) => !keys[level].includes(key))
    .map((key) => ({ path: `${prefix}${key}`, key, level }));
}

/**
 * Keys of a raw pipeline no level of the format knows: top-level, per stage (and its retry
 * policy), per cascade rule.
 * Why: zod drops unknown keys without a word, so `max_attempt: 5` would run with the default 3.
 * Shapes that are wrong in other ways are left for the schema to report.
 */
export function unknownPipelineKeys(raw: unknown, keys: PipelineKeys): UnknownKey[] {
  if (!isObject(raw)) return [];
  const found = unknownIn(raw, keys, 'pipeline', '');
  if (isObject(raw.stages)) {
    for (const [stage, config] of Object.entries(raw.stages)) {
      found.push(...unknownIn(config, keys, 'stage', `stages.${stage}.`));
      if (isObject(config)) found.push(...unknownIn(config.retry, keys, 'retry policy', `stages.${stage}.retry.`));
    }
  }
  if (Array.isArray(raw.cascade)) raw.cascade.forEach((rule, i) => found.push(...unknownIn(rule, keys, 'cascade rule', `cascade.${i}.`)));
  return found;
}
