import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isTqError, type TqError } from '../../../src/core/model/errors.js';
import { parsePipeline, type Pipeline } from '../../../src/core/model/pipeline.js';
import { checkStageData, compileStageSchemas } from '../../../src/core/model/stage-schemas.js';
import { MAX_SCHEMA_BYTES, MAX_SCHEMA_DEPTH } from '../../../src/core/model/json-schema-compiler.js';
import { REPO_ROOT } from '../../helpers/make-run.js';

/** A pipeline with one stage `s` whose output_schema is `schema`. */
function withOutputSchema(schema: Record<string, unknown>): Pipeline {
  return parsePipeline({ stages: { s: { output_schema: schema } } }, 'p.json');
}

async function refusal(p: Promise<unknown>, code = 'INVALID_INPUT'): Promise<TqError> {
  try {
    await p;
  } catch (err) {
    expect(isTqError(err, code as TqError['code']), String(err)).toBe(true);
    return err as TqError;
  }
  throw new Error('accepted');
}

const check = (pipeline: Pipeline, data: unknown, file = 'out.json'): Promise<void> => checkStageData(pipeline, 's', 'output', data, { file });

afterEach(() => {
  vi.restoreAllMocks();
});

describe('checkStageData (Ajv, draft 2020-12)', () => {
  it('enforces minItems, naming the file, the JSON pointer and the rule', async () => {
    const p = withOutputSchema({ type: 'object', properties: { beats: { type: 'array', minItems: 1 } } });
    await check(p, { beats: [1] });
    const err = await refusal(check(p, { beats: [] }));
    expect(err.message).toBe('out.json: output of stage s does not match stages.s.output_schema: /beats: must NOT have fewer than 1 items (minItems at #/properties/beats/minItems)');
    expect(err.file).toBe('out.json');
    expect(err.field).toBe('output_data');
    expect(err.data).toEqual({ schema_errors: [{ pointer: '/beats', keyword: 'minItems', schema_path: '#/properties/beats/minItems', message: 'must NOT have fewer than 1 items' }], schema_error_count: 1 });
  });

  it('enforces a required key that properties does not list', async () => {
    const p = withOutputSchema({ type: 'object', required: ['id'] });
    await check(p, { id: 1 });
    expect((await refusal(check(p, { noid: true }))).message).toContain("(root): must have required property 'id' (required at #/required)");
  });

  it('checks formats (date-time, email)', async () => {
    const p = withOutputSchema({ type: 'object', properties: { at: { type: 'string', format: 'date-time' }, mail: { type: 'string', format: 'email' } } });
    await check(p, { at: '2026-11-30T03:00:00Z', mail: 'a@example.org' });
    const err = await refusal(check(p, { at: 'yesterday', mail: 'nobody' }));
    expect(err.message).toContain('/at: must match format "date-time" (format at #/properties/at/format)');
    expect(err.message).toContain('/mail: must match format "email" (format at #/properties/mail/format)');
  });

  it('follows $ref into $defs', async () => {
    const p = withOutputSchema({
      type: 'object',
      properties: { nouns: { type: 'array', items: { $ref: '#/$defs/noun' } } },
      $defs: { noun: { type: 'object', required: ['noun'], properties: { noun: { type: 'string', minLength: 1 } } } },
    });
    await check(p, { nouns: [{ noun: 'Hexagone' }] });
    const err = await refusal(check(p, { nouns: [{ noun: 'Barrage' }, { noun: '' }] }));
    expect(err.message).toContain('/nouns/1/noun: must NOT have fewer than 1 characters (minLength at #/$defs/noun/properties/noun/minLength)');
  });

  it('says which property is extra and which values an enum allows', async () => {
    const p = withOutputSchema({ type: 'object', properties: { verdict: { enum: ['APPROVE', 'REJECT'] } }, additionalProperties: false });
    const err = await refusal(check(p, { verdict: 'MAYBE', node: 1 }));
    expect(err.message).toContain('(root): must NOT have additional properties: "node" (additionalProperties at #/additionalProperties)');
    expect(err.message).toContain('/verdict: must be equal to one of the allowed values: "APPROVE", "REJECT" (enum at #/properties/verdict/enum)');
  });

  it('lists at most 5 errors and counts the rest', async () => {
    const p = withOutputSchema({ type: 'array', items: { type: 'string' } });
    const err = await refusal(check(p, Array.from({ length: 12 }, (_, i) => i)));
    expect(err.message.match(/must be string/g)).toHaveLength(5);
    expect(err.message).toMatch(/\/4: must be string \(type at #\/items\/type\); and 7 more$/);
    expect(err.data?.schema_error_count).toBe(12);
  });

  it('puts the pointer of the data inside its file before each error pointer', async () => {
    const p = withOutputSchema({ type: 'object', required: ['walk_id'] });
    const err = await refusal(checkStageData(p, 's', 'output', {}, { file: 'claimed/w/x.result.json', pointer: '/output_data' }));
    expect(err.message).toContain("/output_data: must have required property 'walk_id'");
  });

  it('a stage without a schema takes any data', async () => {
    await checkStageData(parsePipeline({ stages: { s: {} } }, 'p.json'), 's', 'input', { anything: [] }, { file: 'in.jsonl:1' });
  });

  it('accepts a schema that names draft 2020-12', async () => {
    await check(withOutputSchema({ $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object' }), {});
  });

  it('compiles each schema once per process, however often and from however many copies of the pipeline', async () => {
    const compile = vi.spyOn(Ajv2020.prototype, 'compile');
    const raw = { stages: { s: { output_schema: { type: 'object', required: ['counted_once'] } } } };
    const first = parsePipeline(structuredClone(raw), 'p.json');
    await compileStageSchemas(first, 'p.json');
    for (let i = 0; i < 5; i += 1) await check(first, { counted_once: i });
    // A run re-read from run.json is a new object with the same schema text.
    const again = parsePipeline(structuredClone(raw), 'run.json');
    await Promise.all(Array.from({ length: 5 }, () => check(again, { counted_once: 0 })));
    expect(compile).toHaveBeenCalledTimes(1);
  });
});

describe('compileStageSchemas: an unusable schema is INVALID_PIPELINE naming the file and the field', () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['a wrong type name', { type: 'objekt' }, /must be equal to one of the allowed values/],
    ['a keyword of the wrong type', { type: 'array', minItems: '1' }, /minItems must be integer/],
    ['an unknown keyword (strict: a typo is not ignored)', { type: 'array', minitems: 1 }, /unknown keyword: "minitems"/],
    ['an unknown format', { type: 'string', format: 'walk-id' }, /unknown format "walk-id"/],
    ['a $ref to nowhere', { $ref: '#/$defs/missing' }, /can't resolve reference #\/\$defs\/missing/],
    ['a $schema of another draft', { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object' }, /"\$schema" is "http:\/\/json-schema.org\/draft-07\/schema#": tq checks JSON Schema draft 2020-12/],
    ['a remote $ref (never downloaded)', { $ref: 'https://example.org/schema.json' }, /can't resolve reference https:\/\/example.org\/schema.json/],
  ];
  for (const [what, schema, why] of cases) {
    it(what, async () => {
      const p = parsePipeline({ stages: { parse: {}, translate: { output_schema: schema } } }, 'p.json');
      const err = await refusal(compileStageSchemas(p, 'p.json'), 'INVALID_PIPELINE');
      expect(err.message).toMatch(/^p\.json: field stages\.translate\.output_schema: /);
      expect(err.message).toMatch(why);
      expect(err).toMatchObject({ file: 'p.json', field: 'stages.translate.output_schema' });
    });
  }

  it('refuses a schema over the size or depth limit before Ajv sees it', async () => {
    const compile = vi.spyOn(Ajv2020.prototype, 'compile');
    const big = parsePipeline({ stages: { s: { input_schema: { type: 'string', description: 'x'.repeat(MAX_SCHEMA_BYTES) } } } }, 'p.json');
    expect((await refusal(compileStageSchemas(big, 'p.json'), 'INVALID_PIPELINE')).message).toMatch(/^p\.json: field stages\.s\.input_schema: the schema is \d+ bytes, over the 256 KB limit/);
    let deep: Record<string, unknown> = { type: 'object' };
    for (let i = 0; i < MAX_SCHEMA_DEPTH; i += 1) deep = { type: 'object', properties: { a: deep } };
    const tooDeep = parsePipeline({ stages: { s: { input_schema: deep } } }, 'p.json');
    expect((await refusal(compileStageSchemas(tooDeep, 'p.json'), 'INVALID_PIPELINE')).message).toContain(`nested deeper than ${MAX_SCHEMA_DEPTH} levels`);
    expect(compile).not.toHaveBeenCalled();
  });

  it('names run.json when a stored run holds an unusable schema (found at the first check)', async () => {
    const p = withOutputSchema({ type: 'objekt', title: 'stored' });
    const err = await refusal(checkStageData(p, 's', 'output', {}, { file: 'out.json', pipelineFile: '/runs/r/run.json' }), 'INVALID_PIPELINE');
    expect(err.message).toMatch(/^\/runs\/r\/run\.json: field stages\.s\.output_schema: /);
  });

  it('meta-schema validation runs at create only; a stored run\'s check trusts it, and never serves a create', async () => {
    const validateSchema = vi.spyOn(Ajv2020.prototype, 'validateSchema');
    // Not a valid schema (description must be a string), yet compilable: only the meta-schema sees it.
    const raw = { stages: { s: { output_schema: { type: 'object', description: 5, required: ['trust_test'] } } } };
    await refusal(check(parsePipeline(structuredClone(raw), 'run.json'), {}));
    expect(validateSchema).not.toHaveBeenCalled();
    const err = await refusal(compileStageSchemas(parsePipeline(structuredClone(raw), 'p.json'), 'p.json'), 'INVALID_PIPELINE');
    expect(err.message).toBe('p.json: field stages.s.output_schema: not a usable JSON Schema: schema is invalid: data/description must be string');
    expect(validateSchema).toHaveBeenCalled();
  });

  it('accepts every schema of examples/gallia/pipeline.json', async () => {
    const file = `${REPO_ROOT}examples/gallia/pipeline.json`;
    const p = parsePipeline(JSON.parse(readFileSync(file, 'utf8')), file);
    await compileStageSchemas(p, file);
    expect(Object.values(p.stages).every((s) => s.input_schema && s.output_schema)).toBe(true);
  });
});
