/**
 * What a newcomer's mistakes get: unknown commands and options with a did-you-mean, a missing
 * positional named as the usage line names it, unknown stages refused by every command that
 * takes one, `submit` at a terminal with no --output refused instead of waiting.
 */
import { Readable } from 'node:stream';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { EXAMPLE_PIPELINE_FILE } from '../helpers/make-run.js';
import { captureIo, jsonOf, runTq, type Captured } from '../helpers/capture-io.js';
import { hashTree } from '../helpers/run-invariants.js';
import { useCliTempRoot } from '../helpers/cli-temp-root.js';

const tmp = useCliTempRoot();

const tq = (...argv: string[]): Promise<Captured> => runTq(tmp.root, argv);

async function createDemo(): Promise<void> {
  const input = join(tmp.dir, 'in.jsonl');
  await writeFile(input, '{"id":"a"}\n{"id":"b"}\n');
  expect((await tq('create', 'demo', '--pipeline', EXAMPLE_PIPELINE_FILE, '--input', input)).code).toBe(0);
}

describe('unknown commands and options', () => {
  it('an unknown command says so, with a did-you-mean when one is close', async () => {
    const typo = await tq('stauts', 'demo');
    expect(typo.code).toBe(2);
    expect(typo.stderr).toBe('tq: unknown command: stauts; did you mean "status"?\n  hint: `tq --help` lists the commands\n');
    const far = await tq('frobnicate', 'demo', '--json');
    expect(far.code).toBe(2);
    expect(jsonOf(far.stderr)).toMatchObject({ error: { code: 'USAGE', message: 'unknown command: frobnicate' } });
    // A line yargs parses (an option before the command) gets the same answer.
    const late = await tq('--json=true', 'stauts');
    expect(late.code).toBe(2);
    expect(late.stderr).toContain('unknown command: stauts; did you mean "status"?');
  });

  it('words after -- are a usage error for a command that runs no program', async () => {
    await createDemo();
    const r = await tq('status', 'demo', '--', 'extra');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('tq: unexpected words after --: extra');
  });

  it('an unknown option names the closest one the command takes', async () => {
    await createDemo();
    const r = await tq('claim', 'demo', '--type', 'parse', '--wroker', 'w1');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('tq: unknown option --wroker; did you mean --worker?\n  hint: usage: tq claim <run> --type <stage> --worker <id> [options] (see `tq claim --help`)\n');
  });

  it('a missing positional is named as the usage line names it, with the usage line', async () => {
    const claim = await tq('claim', '--type', 'parse', '--worker', 'w1');
    expect(claim.code).toBe(2);
    expect(claim.stderr).toBe('tq: missing <run>\n  hint: usage: tq claim <run> --type <stage> --worker <id> [options]\n');
    const show = await tq('show', 'demo', '--json');
    expect(jsonOf(show.stderr)).toMatchObject({ error: { code: 'USAGE', message: 'missing <ticket>', hint: 'usage: tq show <run> <ticket> [options]' } });
    expect((await tq('requeue', 'demo')).stderr).toMatch(/^tq: missing <ticket>\.\.\.\n/);
  });

  it('an option with its value left out is named, never run with an empty value', async () => {
    await createDemo();
    const before = await hashTree(tmp.dir);
    const r = await tq('claim', 'demo', '--type', '--worker', 'w1');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('tq: --type needs a value\n');
    expect((await tq('list', 'demo', '--state')).stderr).toBe('tq: --state needs a value\n');
    expect(await hashTree(tmp.dir)).toBe(before);
  });
});

describe('unknown stages are an error wherever a stage is taken', () => {
  it.each([
    ['list', ['list', 'demo', '--type', 'pars']],
    ['concerns', ['concerns', 'demo', '--type', 'pars']],
    ['claim', ['claim', 'demo', '--type', 'pars', '--worker', 'w1']],
    ['add', ['add', 'demo', '--type', 'pars', '--input', '-']],
  ])('%s', async (_name, argv) => {
    await createDemo();
    const r = await tq(...argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('tq: "pars" is not a stage of this run; did you mean "parse"?\n  hint: stages are: parse, translate, curate\n');
  });

  it('with no close stage, the stages are listed', async () => {
    await createDemo();
    const r = await tq('list', 'demo', '--type', 'nope', '--json');
    expect(r.code).toBe(2);
    expect(jsonOf(r.stderr)).toMatchObject({ error: { code: 'USAGE', message: '"nope" is not a stage of this run', hint: 'stages are: parse, translate, curate' } });
    expect((await tq('list', 'demo', '--type', 'curate')).stdout).toBe('no tickets match\n');
  });

  it('schema names the closest stage schema', async () => {
    await createDemo();
    const r = await tq('schema', 'pars.input', '--run', 'demo');
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('no schema "pars.input" in run demo; did you mean "parse.input"?');
  });
});

describe('submit at a terminal', () => {
  it('without --output, refuses (exit 2) instead of waiting for JSON on the terminal', async () => {
    await createDemo();
    const claim = await tq('claim', 'demo', '--type', 'parse', '--worker', 'w1', '--json');
    const id = (jsonOf(claim.stdout).ticket as { ticket_id: string }).ticket_id;
    const before = await hashTree(tmp.dir);
    const c = captureIo();
    // A stdin that says it is a terminal and never ends: reading it would hang the test.
    const terminal = Object.assign(new Readable({ read: () => undefined }), { isTTY: true });
    const code = await main(['--root', tmp.root, 'submit', 'demo', id, '--worker', 'w1'], { ...c.io, stdin: terminal });
    expect(code).toBe(2);
    expect(c.err()).toContain('submit reads the output JSON from stdin, which is a terminal here: pass --output FILE (or pipe the JSON in)');
    expect(await hashTree(tmp.dir)).toBe(before);
    // Piped, the same line reads stdin.
    const piped = captureIo('{"text":"x"}');
    expect(await main(['--root', tmp.root, 'submit', 'demo', id, '--worker', 'w1'], piped.io), piped.err()).toBe(0);
  });
});
