/**
 * Stage schemas through the CLI, with examples/gallia/pipeline.json: what an agent is told when
 * its output has the wrong shape (the README shows the same text), what `add` says about a bad
 * input line, and what `create` says about a bad schema or an unknown pipeline key.
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { jsonOf, runTq, type Captured } from '../helpers/capture-io.js';
import { REPO_ROOT } from '../helpers/make-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';

const GALLIA = join(REPO_ROOT, 'examples', 'gallia');
const PIPELINE = join(GALLIA, 'pipeline.json');

let dir: string;
let root: string;
let savedDurability: string | undefined;
beforeAll(() => {
  savedDurability = process.env.TQ_DURABILITY;
  process.env.TQ_DURABILITY = 'none';
});
afterAll(() => {
  if (savedDurability === undefined) delete process.env.TQ_DURABILITY;
  else process.env.TQ_DURABILITY = savedDurability;
});
beforeEach(async () => {
  dir = await makeTempDir('tq-cli-stage-schemas-');
  root = join(dir, 'runs');
});
afterEach(async () => {
  await removeDir(dir);
});

const tq = (...argv: string[]): Promise<Captured> => runTq(root, argv);

async function createGallia(): Promise<void> {
  const r = await tq('create', 'gallia', '--pipeline', PIPELINE, '--input', join(GALLIA, 'walks.jsonl'));
  expect(r.code, r.stderr).toBe(0);
}

async function claim(stage: string): Promise<{ id: string; input: Record<string, unknown> }> {
  const r = await tq('claim', 'gallia', '--type', stage, '--worker', 'me', '--json');
  expect(r.code, r.stderr).toBe(0);
  const t = jsonOf(r.stdout).ticket as { ticket_id: string; input_data: Record<string, unknown> };
  return { id: t.ticket_id, input: t.input_data };
}

async function submit(id: string, output: unknown, ...extra: string[]): Promise<Captured> {
  const file = join(dir, 'out.json');
  await writeFile(file, JSON.stringify(output));
  return tq('submit', 'gallia', id, '--worker', 'me', '--output', file, ...extra);
}

describe('examples/gallia/pipeline.json schemas', () => {
  it('every walk of walks.jsonl is a valid parse input (create adds all 50)', async () => {
    await createGallia();
    const status = jsonOf((await tq('status', 'gallia', '--json')).stdout) as { counts: { parse: { pending: number } } };
    expect(status.counts.parse.pending).toBe(50);
  });

  it('an output with `node` for `node_id` and no walk_id: exit 2, naming the file, each pointer and rule', async () => {
    await createGallia();
    const { id } = await claim('parse');
    const wrong = { beats: [{ node: '0x157263', speaker: 'Courier', text: 'Papers, please.', function: 'challenge' }] };
    const r = await submit(id, wrong);
    expect(r.code).toBe(2);
    const file = join(dir, 'out.json');
    expect(r.stderr.split('\n')[0]).toBe(
      `tq: ${file}: output of stage parse does not match stages.parse.output_schema: (root): must have required property 'walk_id' (required at #/required); /beats/0: must have required property 'node_id' (required at #/properties/beats/items/required)`,
    );
    expect(r.stderr).toContain('hint: the schema is schemas/parse.output.schema.json in the run (`tq schema parse.output --run gallia`)');
    // Nothing moved: the ticket is still held, and a right-shaped output completes it.
    const right = { walk_id: 'walk-001', beats: [{ node_id: '0x157263', speaker: 'Courier', text: 'Papers, please.', function: 'challenge' }] };
    const ok = await submit(id, right);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('children: 1 created');
  });

  it('an empty beats list breaks minItems; --json carries the errors as data', async () => {
    await createGallia();
    const { id } = await claim('parse');
    const r = await submit(id, { walk_id: 'walk-001', beats: [] }, '--json');
    expect(r.code).toBe(2);
    const error = jsonOf(r.stderr).error as Record<string, unknown>;
    expect(error).toMatchObject({ code: 'INVALID_INPUT', file: join(dir, 'out.json'), field: 'output_data' });
    expect(error.message).toMatch(/: output of stage parse does not match stages\.parse\.output_schema: \/beats: must NOT have fewer than 1 items \(minItems at #\/properties\/beats\/minItems\)$/);
    expect(error.data).toEqual({ schema_errors: [{ pointer: '/beats', keyword: 'minItems', schema_path: '#/properties/beats/minItems', message: 'must NOT have fewer than 1 items' }], schema_error_count: 1 });
  });

  it('a translate output whose new noun would be an invalid curate input is refused at submit', async () => {
    await createGallia();
    const parse = await claim('parse');
    const walk = parse.input as { id: string; nodes: { node_id: string; speaker: string; text: string }[] };
    const beats = walk.nodes.map((n) => ({ ...n, function: 'inform' }));
    expect((await submit(parse.id, { walk_id: walk.id, beats })).code).toBe(0);
    const translate = await claim('translate');
    const texts = beats.map((b) => ({ node_id: b.node_id, text: b.text }));
    const r = await submit(translate.id, { walk_id: walk.id, translated_texts: texts, new_nouns: [{ noun: 'Hexagone', source: 'Republic', node_ids: [beats[0]?.node_id] }, { noun: 'Barrage', node_ids: [beats[0]?.node_id] }] });
    expect(r.code).toBe(2);
    // translate's own output_schema ($ref to $defs/noun) catches it first, at the element's pointer.
    expect(r.stderr).toContain("/new_nouns/1: must have required property 'source' (required at #/$defs/noun/required)");
  });

  it('tq schema parse.input / translate.output --run prints the stage schema from the pipeline', async () => {
    await createGallia();
    const pipeline = JSON.parse(readFileSync(PIPELINE, 'utf8')) as { stages: Record<string, { input_schema: object; output_schema: object }> };
    const input = jsonOf((await tq('schema', 'parse.input', '--run', 'gallia', '--json')).stdout);
    expect(input.schema).toEqual({ title: 'parse input_data', ...pipeline.stages.parse?.input_schema });
    const output = await tq('schema', 'translate.output', '--run', 'gallia');
    expect(JSON.parse(output.stdout)).toEqual({ title: 'translate output_data', ...pipeline.stages.translate?.output_schema });
  });
});

describe('add and create', () => {
  it('add: a line that is not a valid input names the file and line, the pointer and the rule', async () => {
    await createGallia();
    const bad = join(dir, 'bad.jsonl');
    await writeFile(bad, '{"id": "walk-900", "nodes": [{"node_id": "0x1", "speaker": "Clerk", "text": "Next."}]}\n{"id": "walk-901", "nodes": []}\n');
    const r = await tq('add', 'gallia', '--input', bad);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe(`tq: ${bad}:2: input of stage parse does not match stages.parse.input_schema: /nodes: must NOT have fewer than 1 items (minItems at #/properties/nodes/minItems)`);
  });

  it('create: a schema Ajv refuses is INVALID_PIPELINE naming the file and the field, and no run is made', async () => {
    const pipeline = JSON.parse(readFileSync(PIPELINE, 'utf8')) as { stages: { parse: { output_schema: Record<string, unknown> } } };
    pipeline.stages.parse.output_schema = { type: 'object', properties: { beats: { type: 'array', minitems: 1 } } };
    const file = join(dir, 'pipeline.json');
    await writeFile(file, JSON.stringify(pipeline));
    const r = await tq('create', 'bad', '--pipeline', file, '--json');
    expect(r.code).toBe(2);
    expect(jsonOf(r.stderr).error).toMatchObject({
      code: 'INVALID_PIPELINE',
      file,
      field: 'stages.parse.output_schema',
      message: `${file}: field stages.parse.output_schema: not a usable JSON Schema: strict mode: unknown keyword: "minitems"`,
    });
    expect(existsSync(join(root, 'bad'))).toBe(false);
  });

  it('create: an unknown pipeline key is INVALID_PIPELINE with the closest known key', async () => {
    const file = join(dir, 'pipeline.json');
    await writeFile(file, JSON.stringify({ stages: { parse: { max_attempt: 5 } } }));
    const r = await tq('create', 'typo', '--pipeline', file);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe(`tq: ${file}: unknown key stages.parse.max_attempt; did you mean "max_attempts"?`);
    expect(existsSync(join(root, 'typo'))).toBe(false);
  });
});

describe('approve', () => {
  it('refuses to approve a needs_review output its stage schema rejects, and says to requeue', async () => {
    await createGallia();
    const { id } = await claim('parse');
    expect((await submit(id, { walk_id: 'walk-001', beats: [] }, '--status', 'needs_review')).code).toBe(0);
    const r = await tq('approve', 'gallia', id);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/needs_review\/parse\/parse-\S+\.json: output of stage parse does not match stages\.parse\.output_schema: \/output_data\/beats: must NOT have fewer than 1 items/);
    expect(r.stderr).toContain(`requeue it (\`tq requeue gallia ${id}\`)`);
    expect((await tq('requeue', 'gallia', id)).code).toBe(0);
  });
});
