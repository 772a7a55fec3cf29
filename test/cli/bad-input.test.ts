/**
 * The bad-input catalogue (CLI side): each kind of hostile or broken input gets a clear error
 * naming the file or field, the right exit code, nothing lost, nothing written outside the run.
 * The agent-file side of the catalogue is in test/daemon/.
 */
import { mkdir, readFile, readdir, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTq } from '../helpers/capture-io.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';
import { EXAMPLE_PIPELINE_FILE } from '../helpers/make-run.js';
import { openRun } from '../../src/core/store/run-context.js';
import { fsckRun } from '../../src/core/fsck/fsck-run.js';
import { listTickets } from '../../src/core/views/list-tickets.js';

let outside: string;
let root: string;
let files: string;
const RUN = 'bad';
let held: { id: string; token: string }[] = [];

async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) out.push(join(e.parentPath ?? '', e.name));
  return out.sort();
}
let outsideBefore: string[];

beforeAll(async () => {
  outside = await makeTempDir('tq-bad-');
  root = join(outside, 'runs');
  files = join(outside, 'files');
  await mkdir(files);
  await writeFile(join(outside, 'secret.txt'), 'do not touch');
  const items = Array.from({ length: 12 }, (_, i) => JSON.stringify({ id: `0x${(0x100 + i).toString(16)}`, text: `t${i}` })).join('\n');
  await writeFile(join(files, 'in.jsonl'), items);
  expect((await runTq(root, ['create', RUN, '--pipeline', EXAMPLE_PIPELINE_FILE, '--input', join(files, 'in.jsonl')])).code).toBe(0);
  for (let i = 0; i < 6; i += 1) {
    const r = await runTq(root, ['claim', RUN, '--type', 'parse', '--worker', 'w1', '--json']);
    const t = (JSON.parse(r.stdout) as { ticket: { ticket_id: string; claim: { token: string } } }).ticket;
    held.push({ id: t.ticket_id, token: t.claim.token });
  }
  outsideBefore = (await snapshot(outside)).filter((p) => !p.startsWith(root) && !p.startsWith(files));
});
afterAll(async () => {
  await removeDir(outside);
});

async function fileWith(name: string, content: string | Buffer): Promise<string> {
  const p = join(files, name);
  await writeFile(p, content);
  return p;
}

function nextHeld(): { id: string; token: string } {
  const h = held[0];
  if (!h) throw new Error('no claimed ticket left for the test');
  return h;
}

async function submit(output: string, extra: string[] = []): Promise<{ code: number; stderr: string }> {
  return runTq(root, ['submit', RUN, nextHeld().id, '--worker', 'w1', '--output', output, ...extra]);
}

const cases: [string, () => Promise<{ code: number; stderr: string }>, number, RegExp][] = [
  ['invalid JSON output', async () => submit(await fileWith('a.json', '{oops')), 2, /a\.json: output is not valid JSON/],
  ['truncated JSON output', async () => submit(await fileWith('b.json', '{"beats": [1, 2')), 2, /b\.json: output is not valid JSON/],
  ['a JSON array instead of an object', async () => submit(await fileWith('c.json', '[1,2]')), 2, /output_data must be a JSON object, got an array/],
  ['a JSON number instead of an object', async () => submit(await fileWith('d.json', '42')), 2, /output_data must be a JSON object, got number/],
  ['an empty output file', async () => submit(await fileWith('e.json', '')), 2, /e\.json: output is not valid JSON/],
  ['binary garbage', async () => submit(await fileWith('f.bin', Buffer.from([0, 255, 1, 254, 0x7b, 0]))), 2, /f\.bin: output is not valid JSON/],
  ['a 100 MB output', async () => submit(await fileWith('huge.json', `{"x":"${'y'.repeat(100 * 1024 * 1024)}"}`)), 2, /huge\.json: 100\.0 MB is over the 16 MB limit/],
  ['deeply nested JSON', async () => submit(await fileWith('deep.json', `{"a":${'['.repeat(5000)}${']'.repeat(5000)}}`)), 2, /nested deeper than 100 levels/],
  ['git conflict markers in an output', async () => submit(await fileWith('g.json', '<<<<<<< HEAD\n{"a":1}\n=======\n{"a":2}\n>>>>>>> other\n')), 2, /git conflict markers/],
  ['a directory where the output file belongs', async () => (await mkdir(join(files, 'dir.json'), { recursive: true }), submit(join(files, 'dir.json'))), 2, /cannot read output .*dir\.json: EISDIR/],
  ['wrong field type in usage', async () => submit(await fileWith('ok1.json', '{}'), ['--usage', '{"input_tokens": "many"}']), 2, /usage: field input_tokens/],
  ['negative token count', async () => submit(await fileWith('ok2.json', '{}'), ['--usage', '{"output_tokens": -5}']), 2, /usage: field output_tokens/],
  ['unknown field in usage', async () => submit(await fileWith('ok3.json', '{}'), ['--usage', '{"tokenz": 5}']), 2, /usage: .*tokenz/],
  ['a concern without a level', async () => submit(await fileWith('ok4.json', '{}'), ['--concern', 'just a message']), 2, /must start with info:, review: or error:/],
  ['an unknown status', async () => submit(await fileWith('ok5.json', '{}'), ['--status', 'done']), 2, /status|Invalid values/],
  ['fan-out field not an array', async () => runTq(root, ['submit', RUN, 'translate-nope-x', '--worker', 'w1', '--output', await fileWith('ok6.json', '{"new_nouns": "Hexagone"}')]), 2, /output_data\.new_nouns must be an array/],
  ['worker id with ../', async () => runTq(root, ['claim', RUN, '--type', 'parse', '--worker', '../evil']), 2, /invalid worker id "\.\.\/evil": it contains a path separator/],
  ['worker id with /', async () => runTq(root, ['claim', RUN, '--type', 'parse', '--worker', 'a/b']), 2, /invalid worker id "a\/b": it contains a path separator/],
  ['worker id with NUL', async () => runTq(root, ['claim', RUN, '--type', 'parse', '--worker', 'a\0b']), 2, /invalid worker id .*NUL/],
  ['a very long worker id', async () => runTq(root, ['claim', RUN, '--type', 'parse', '--worker', 'w'.repeat(500)]), 2, /invalid worker id .*longer than 64/],
  ['a unicode look-alike worker id', async () => runTq(root, ['claim', RUN, '--type', 'parse', '--worker', 'w\u04301']), 2, /invalid worker id .*look-alike/],
  ['a worker id starting with a dot', async () => runTq(root, ['claim', RUN, '--type', 'parse', '--worker', '.hidden']), 2, /starts with '\.'/],
  ['ticket id with ../', async () => runTq(root, ['show', RUN, '../../secret']), 2, /invalid ticket id "\.\.\/\.\.\/secret"/],
  ['run id with ../', async () => runTq(root, ['status', '../files']), 2, /invalid run id "\.\.\/files"/],
  ['an unknown stage', async () => runTq(root, ['claim', RUN, '--type', 'translat', '--worker', 'w1']), 2, /"translat" is not a stage of this run/],
  ['a lease that is not a duration', async () => runTq(root, ['claim', RUN, '--type', 'parse', '--worker', 'w1', '--lease', 'ten minutes']), 2, /lease: "ten minutes" is not a duration/],
  ['a missing run', async () => runTq(root, ['status', 'nope']), 4, /no run "nope"/],
  ['a missing ticket', async () => runTq(root, ['show', RUN, 'parse-zzz-zzz']), 4, /no ticket "parse-zzz-zzz"/],
  ['an input line that is an array', async () => runTq(root, ['add', RUN, '--type', 'parse', '--input', await fileWith('arr.jsonl', '{"a":1}\n[1,2]\n')]), 2, /arr\.jsonl:2: expected a JSON object, got an array/],
  ['an input line that is not JSON', async () => runTq(root, ['add', RUN, '--type', 'parse', '--input', await fileWith('bad.jsonl', '{"a":1}\n{"a":\n')]), 2, /bad\.jsonl:2: not valid JSON/],
  ['a pipeline with a cycle', async () => runTq(root, ['create', 'cyc', '--pipeline', await fileWith('cyc.json', '{"stages":{"a":{},"b":{}},"cascade":[{"from":"a","to":"b"},{"from":"b","to":"a"}]}')]), 2, /cyc\.json: field cascade: rules form a cycle \(a -> b -> a\)/],
  ['a pipeline that is not JSON', async () => runTq(root, ['create', 'nj', '--pipeline', await fileWith('nj.json', 'stages: parse')]), 2, /nj\.json: not valid JSON/],
  ['a pipeline rule to an unknown stage', async () => runTq(root, ['create', 'unk', '--pipeline', await fileWith('unk.json', '{"stages":{"a":{}},"cascade":[{"from":"a","to":"b"}]}')]), 2, /field cascade\.0\.to: "b" is not a stage/],
];

describe('bad input through the CLI', () => {
  for (const [name, run, exit, message] of cases) {
    it(`${name}: exit ${exit}, a clear message`, async () => {
      const r = await run();
      expect(r.stderr).toMatch(message);
      expect(r.code).toBe(exit);
      expect(r.stderr).not.toMatch(/unexpected error|at .*\.js:\d+/);
    });
  }

  it('BOM and CRLF input is accepted, not refused', async () => {
    const r = await runTq(root, ['add', RUN, '--type', 'parse', '--input', await fileWith('bom.jsonl', '\ufeff{"id":"x1"}\r\n{"id":"x2"}\r\n')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('a stray-whitespace ticket id is accepted (agents paste ids)', async () => {
    const h = nextHeld();
    const r = await runTq(root, ['submit', RUN, `  ${h.id}.json \n`, '--worker', ' w1 ', '--output', await fileWith('good.json', '{"beats": []}')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    held = held.slice(1);
  });

  it('state files: conflict markers, a wrong ticket_id, a misplaced file, a symlink out of the run, a directory, a duplicate — fsck names each and repairs', async () => {
    const ctx = await openRun(root, RUN);
    const pending = join(ctx.paths.dir, 'pending', 'parse');
    const [a, b, c, d] = (await readdir(pending)).filter((n) => n.endsWith('.json'));
    if (!a || !b || !c || !d) throw new Error('need four pending tickets');
    const text = await readFile(join(pending, a), 'utf8');
    await writeFile(join(pending, a), `<<<<<<< HEAD\n${text}=======\n${text}>>>>>>> theirs\n`);
    const tb = JSON.parse(await readFile(join(pending, b), 'utf8')) as { ticket_id: string };
    await writeFile(join(pending, b), JSON.stringify({ ...tb, ticket_id: 'parse-other-id' }));
    await mkdir(join(ctx.paths.dir, 'pending', 'translate'), { recursive: true });
    await rename(join(pending, c), join(ctx.paths.dir, 'pending', 'translate', c));
    await symlink(join(outside, 'secret.txt'), join(pending, 'parse-link-x.json'));
    await mkdir(join(pending, 'parse-dir-x.json'));
    await mkdir(join(ctx.paths.dir, 'completed', 'parse'), { recursive: true });
    await writeFile(join(ctx.paths.dir, 'completed', 'parse', d), await readFile(join(pending, d)));
    // --settle 0: nothing moves here (the settle re-check is tested in fsck-live-moves.test.ts).
    const check = await runTq(root, ['fsck', RUN, '--settle', '0']);
    expect(check.code).toBe(9);
    for (const re of [/not valid JSON \(it has git conflict markers/, /field ticket_id is "parse-other-id"/, /worker_type is "parse" but the file is in pending\/translate/, /is a symlink/, /is not a ticket file/, /is in pending\/ and also in completed\//]) expect(check.stdout).toMatch(re);
    // A claim never follows the symlink and never picks the directory.
    for (let i = 0; i < 12; i += 1) await runTq(root, ['claim', RUN, '--type', 'parse', '--worker', 'w9']);
    expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('do not touch');
    const repaired = await runTq(root, ['fsck', RUN, '--repair', '--settle', '0']);
    expect(repaired.stdout).toMatch(/repaired/);
    const after = await fsckRun(ctx, { settleMs: 0 });
    expect(after.problems).toEqual([]);
    // Nothing lost: every ticket ever created is in exactly one state.
    const registry = (await readdir(join(ctx.paths.registry, 'parse'))).length;
    expect((await listTickets(ctx, { stage: 'parse' })).length).toBe(registry);
  });

  it('nothing was written outside the run root and the test files', async () => {
    const now = (await snapshot(outside)).filter((p) => !p.startsWith(root) && !p.startsWith(files));
    expect(now).toEqual(outsideBefore);
    expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('do not touch');
  });
});
