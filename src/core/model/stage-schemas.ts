import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { TqError } from './errors.js';
import { compileJsonSchema } from './json-schema-compiler.js';
import type { Pipeline } from './pipeline.js';

export type StageDataKind = 'input' | 'output';

/** Schema errors listed in one message; the rest are counted. Why: allErrors can yield one per array element. */
export const MAX_REPORTED_SCHEMA_ERRORS = 5;
/** Longest piece of agent data (a key, a pointer) echoed in a message. */
const MAX_ECHO = 120;

/** Validators by schema object: the hot path of a process that checks many items against one run. */
const bySchema = new WeakMap<object, Promise<ValidateFunction>>();

function schemaOf(pipeline: Pipeline, stage: string, kind: StageDataKind): Record<string, unknown> | undefined {
  const config = pipeline.stages[stage];
  return kind === 'input' ? config?.input_schema : config?.output_schema;
}

/**
 * Compile every input/output schema of a pipeline, each validated against the draft 2020-12
 * meta-schema, so a schema Ajv refuses is INVALID_PIPELINE at `tq create` (naming `file` and
 * `stages.<s>.<kind>_schema`), not at the first submit.
 */
export async function compileStageSchemas(pipeline: Pipeline, file: string): Promise<void> {
  for (const stage of Object.keys(pipeline.stages)) {
    for (const kind of ['input', 'output'] as const) {
      const schema = schemaOf(pipeline, stage, kind);
      if (schema) await compileJsonSchema(schema, `stages.${stage}.${kind}_schema`, file, 'checked');
    }
  }
}

export interface StageDataWhere {
  /** The file the data came from, named first in the error (`out.json`, `walks.jsonl:3`, `claimed/w/x.result.json`). */
  file: string;
  /** What the data is, when not simply "<kind> of stage <stage>" (e.g. a cascaded child's input). */
  subject?: string;
  /** The field the error points at (default `input_data` / `output_data`). */
  field?: string;
  /** Where the pipeline is (run.json), named if its schema turns out unusable. */
  pipelineFile?: string;
  /** The run, for the hint that shows how to print the schema. */
  runId?: string;
  /** JSON pointer of the data inside `file` (`/output_data` in a result file), put before each error's pointer. */
  pointer?: string;
}

/**
 * Check data against the stage's input or output JSON Schema, if it has one. Throws
 * INVALID_INPUT naming the file, then for each broken rule the JSON pointer into the data, the
 * message, the keyword and the schema path; the errors are also in `data.schema_errors`.
 */
export async function checkStageData(pipeline: Pipeline, stage: string, kind: StageDataKind, data: unknown, where: StageDataWhere): Promise<void> {
  const schema = schemaOf(pipeline, stage, kind);
  if (!schema) return;
  const schemaField = `stages.${stage}.${kind}_schema`;
  let compiled = bySchema.get(schema);
  if (!compiled) {
    // Why `trusted`: a run's schemas were checked against the meta-schema when it was created.
    compiled = compileJsonSchema(schema, schemaField, where.pipelineFile ?? 'run.json (pipeline)', 'trusted');
    bySchema.set(schema, compiled);
  }
  const validate = await compiled;
  if (validate(data)) return;
  const errors = validate.errors ?? [];
  const shown = errors.slice(0, MAX_REPORTED_SCHEMA_ERRORS);
  const more = errors.length > shown.length ? `; and ${errors.length - shown.length} more` : '';
  const subject = where.subject ?? `${kind} of stage ${stage}`;
  const pointer = where.pointer ?? '';
  throw new TqError('INVALID_INPUT', `${where.file}: ${subject} does not match ${schemaField}: ${shown.map((e) => describeSchemaError(e, pointer)).join('; ')}${more}`, {
    file: where.file,
    field: where.field ?? `${kind}_data`,
    hint: `the schema is schemas/${stage}.${kind}.schema.json in the run (\`tq schema ${stage}.${kind} --run ${where.runId ?? '<run>'}\`)`,
    data: { schema_errors: shown.map((e) => ({ pointer: pointer + e.instancePath, keyword: e.keyword, schema_path: e.schemaPath, message: e.message ?? e.keyword })), schema_error_count: errors.length },
  });
}

/** `/beats: must NOT have fewer than 1 items (minItems at #/properties/beats/minItems)`; `prefix` is the data's own pointer in its file. */
export function describeSchemaError(e: ErrorObject, prefix = ''): string {
  const pointer = prefix + e.instancePath === '' ? '(root)' : clip(prefix + e.instancePath);
  return `${pointer}: ${e.message ?? 'is invalid'}${detailOf(e)} (${e.keyword} at ${e.schemaPath})`;
}

/** What Ajv's message leaves out but an agent needs to fix its output. */
function detailOf(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  if (e.keyword === 'additionalProperties' && typeof p.additionalProperty === 'string') return `: "${clip(p.additionalProperty)}"`;
  if (e.keyword === 'enum' && Array.isArray(p.allowedValues)) return `: ${clip(p.allowedValues.map((v) => JSON.stringify(v)).join(', '))}`;
  if (e.keyword === 'const') return `: ${clip(JSON.stringify(p.allowedValue) ?? '')}`;
  return '';
}

function clip(text: string): string {
  return text.length > MAX_ECHO ? `${text.slice(0, MAX_ECHO)}…` : text;
}
