import type { ValidateFunction } from 'ajv/dist/2020.js';
import { TqError } from './errors.js';
import { jsonDepth } from './json-limits.js';

/**
 * Bounds on one stage schema. Why: Ajv compiles a schema into JavaScript (safely: its code
 * generation escapes every value), but its "Untrusted schemas" note warns that a deep or large
 * schema can overflow the stack or take minutes to compile; a run.json travels in git and
 * anyone with the run directory can edit it.
 */
export const MAX_SCHEMA_BYTES = 256 * 1024;
export const MAX_SCHEMA_DEPTH = 64;
const DRAFT_2020_12 = 'https://json-schema.org/draft/2020-12/schema';

/**
 * `checked`: the schema is first validated against the draft 2020-12 meta-schema (at create).
 * `trusted`: it is not (a run.json's schema, checked when its run was created). Why two: Ajv
 * compiles the meta-schema before its first use, ~60 ms, more than all the rest of a `tq submit`.
 */
export type CompileMode = 'checked' | 'trusted';

type Ajv = InstanceType<(typeof import('./ajv-modules.js'))['Ajv2020']>;
const instances = new Map<CompileMode, Promise<Ajv>>();

/**
 * An Ajv instance, loaded on first use. Why lazily: Ajv is ~150 KB of code; `tq claim` and
 * `tq status` never validate and must not pay for it (see ajv-modules.ts).
 * Options (why each): strictSchema refuses unknown keywords and formats (a typo like `minitems`
 * would be silently ignored, the very bug a real validator is here to fix); strictTypes,
 * strictTuples and strictRequired are off because they refuse valid schemas (a `required` key
 * that `properties` does not list is legal and enforced); addUsedSchema off so two stages may use
 * the same `$id`; no `$data`, no loadSchema (a remote `$ref` is an error, never a download);
 * logger off: the CLI's stderr is for tq's own messages.
 */
function ajvFor(mode: CompileMode): Promise<Ajv> {
  let loading = instances.get(mode);
  if (!loading) {
    loading = (async () => {
      const { Ajv2020, addFormats } = await import('./ajv-modules.js');
      const ajv = new Ajv2020({ allErrors: true, strictSchema: true, strictNumbers: true, strictTypes: false, strictTuples: false, strictRequired: false, addUsedSchema: false, logger: false, validateSchema: mode === 'checked' });
      addFormats(ajv);
      return ajv;
    })();
    instances.set(mode, loading);
  }
  return loading;
}

/** Compiled validators by schema text, per mode. Why by text: a run re-read from run.json (a new object) reuses the create's. */
const compiled: Record<CompileMode, Map<string, Promise<ValidateFunction>>> = { checked: new Map(), trusted: new Map() };

/**
 * The validator of a schema, compiled once per process; INVALID_PIPELINE naming `file` and
 * `field` when it is not a usable JSON Schema. A `trusted` request is served by a `checked`
 * compile of the same text, never the other way round.
 */
export function compileJsonSchema(schema: Record<string, unknown>, field: string, file: string, mode: CompileMode): Promise<ValidateFunction> {
  const text = JSON.stringify(schema);
  const hit = compiled.checked.get(text) ?? (mode === 'trusted' ? compiled.trusted.get(text) : undefined);
  if (hit) return hit;
  const made = compileSchema(schema, text, mode, (why) => new TqError('INVALID_PIPELINE', `${file}: field ${field}: ${why}`, { file, field, hint: 'see "Pipeline format" in the README; schemas are JSON Schema draft 2020-12' }));
  // Why forget a failure: the next to ask must be told in its own words (its file, its field).
  made.catch(() => compiled[mode].delete(text));
  compiled[mode].set(text, made);
  return made;
}

async function compileSchema(schema: Record<string, unknown>, text: string, mode: CompileMode, refused: (why: string) => TqError): Promise<ValidateFunction> {
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_SCHEMA_BYTES) throw refused(`the schema is ${bytes} bytes, over the ${MAX_SCHEMA_BYTES / 1024} KB limit for a stage schema`);
  if (jsonDepth(schema, MAX_SCHEMA_DEPTH + 1) > MAX_SCHEMA_DEPTH) throw refused(`the schema is nested deeper than ${MAX_SCHEMA_DEPTH} levels`);
  const draft = schema.$schema;
  // Why a message of our own: Ajv's "no schema with key or ref" does not say what to do.
  if (draft !== undefined && draft !== DRAFT_2020_12 && draft !== `${DRAFT_2020_12}#`) {
    throw refused(`"$schema" is ${JSON.stringify(draft)}: tq checks JSON Schema draft 2020-12 (${DRAFT_2020_12}); drop "$schema" or name that draft`);
  }
  // Why outside the try: Ajv failing to load is not the schema's fault.
  const ajv = await ajvFor(mode);
  try {
    return ajv.compile(schema);
  } catch (err) {
    throw refused(`not a usable JSON Schema: ${(err as Error).message}`);
  }
}
