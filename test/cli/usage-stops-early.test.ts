/**
 * A usage error stops a command before it does anything: for every command, a line with an
 * unknown option, or with an option whose value is missing (`--lease -5m`), exits 2 and leaves
 * every file as it was. Why: yargs used to run the command and then report the error, so a
 * `tq claim ... --lease -5m` claimed a ticket and exited 2, and a script retrying on 2 did the
 * work twice. The mutating commands are also run as given, to show the check could fail.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/command-table.js';
import { EXAMPLE_PIPELINE_FILE } from '../helpers/make-run.js';
import { jsonOf, runTq, type Captured } from '../helpers/capture-io.js';
import { hashTree } from '../helpers/run-invariants.js';
import { useCliTempRoot } from '../helpers/cli-temp-root.js';

const tmp = useCliTempRoot();

const tq = (...argv: string[]): Promise<Captured> => runTq(tmp.root, argv);

interface Fixture {
  held: string;
  review: string;
  failed: string;
  items: string;
  out: string;
  /** A submit-batch file handing in `held`. */
  batch: string;
}

async function claimed(worker: string): Promise<string> {
  const r = await tq('claim', 'demo', '--type', 'parse', '--worker', worker, '--json');
  expect(r.code, r.stderr).toBe(0);
  return (jsonOf(r.stdout).ticket as { ticket_id: string }).ticket_id;
}

/** A run with a ticket held by w1, one whose lease (w3's) has expired, one in needs_review, one failed, one pending. */
async function fixture(): Promise<Fixture> {
  const items = join(tmp.dir, 'items.jsonl');
  await writeFile(items, Array.from({ length: 5 }, (_, i) => JSON.stringify({ id: `0x${i}`, text: `line ${i}` })).join('\n'));
  const out = join(tmp.dir, 'out.json');
  await writeFile(out, '{"text":"x"}');
  expect((await tq('create', 'demo', '--pipeline', EXAMPLE_PIPELINE_FILE, '--input', items)).code).toBe(0);
  const review = await claimed('w2');
  expect((await tq('submit', 'demo', review, '--worker', 'w2', '--output', out, '--status', 'needs_review')).code).toBe(0);
  const failed = await claimed('w2');
  expect((await tq('submit', 'demo', failed, '--worker', 'w2', '--output', out, '--status', 'failed')).code).toBe(0);
  const stale = await claimed('w3');
  const stalePath = join(tmp.root, 'demo', 'claimed', 'w3', `${stale}.json`);
  const t = JSON.parse(await readFile(stalePath, 'utf8')) as { claim: { lease_expires_at: string } };
  t.claim.lease_expires_at = '2000-01-01T00:00:00.000Z';
  await writeFile(stalePath, JSON.stringify(t));
  const held = await claimed('w1');
  const batch = join(tmp.dir, 'batch.jsonl');
  await writeFile(batch, `${JSON.stringify({ ticket_id: held, output_data: { text: 'x' } })}\n`);
  return { held, review, failed, items, out, batch };
}

/** Per command: a line that would run, and an option of it that takes a value. */
function lines(f: Fixture): Record<string, { base: string[]; valueOption: string; mutates?: boolean }> {
  return {
    create: { base: ['create', 'fresh', '--pipeline', EXAMPLE_PIPELINE_FILE], valueOption: 'input', mutates: true },
    add: { base: ['add', 'demo', '--input', f.items], valueOption: 'type', mutates: true },
    runs: { base: ['runs'], valueOption: 'root' },
    status: { base: ['status', 'demo'], valueOption: 'interval' },
    list: { base: ['list', 'demo'], valueOption: 'state' },
    show: { base: ['show', 'demo', f.held], valueOption: 'root' },
    claim: { base: ['claim', 'demo', '--type', 'parse', '--worker', 'w9'], valueOption: 'lease', mutates: true },
    heartbeat: { base: ['heartbeat', 'demo', f.held, '--worker', 'w1', '--lease', '20m'], valueOption: 'token', mutates: true },
    submit: { base: ['submit', 'demo', f.held, '--worker', 'w1', '--output', f.out], valueOption: 'concern', mutates: true },
    'submit-batch': { base: ['submit-batch', 'demo', f.batch, '--worker', 'w1'], valueOption: 'root', mutates: true },
    release: { base: ['release', 'demo', f.held, '--worker', 'w1'], valueOption: 'reason', mutates: true },
    fail: { base: ['fail', 'demo', f.held, '--worker', 'w1', '--error', 'exit 1'], valueOption: 'stderr-tail', mutates: true },
    pause: { base: ['pause', 'demo', '--stage', 'parse'], valueOption: 'reason', mutates: true },
    resume: { base: ['resume', 'demo'], valueOption: 'stage' },
    // Why no program after --: the refused flags are appended, and after -- they would be the program's.
    work: { base: ['work', 'demo', '--stage', 'parse', '--until-empty'], valueOption: 'timeout' },
    approve: { base: ['approve', 'demo', f.review], valueOption: 'note', mutates: true },
    requeue: { base: ['requeue', 'demo', f.failed], valueOption: 'note', mutates: true },
    concerns: { base: ['concerns', 'demo'], valueOption: 'level' },
    reap: { base: ['reap', 'demo'], valueOption: 'root', mutates: true },
    fsck: { base: ['fsck', 'demo'], valueOption: 'settle' },
    demo: { base: ['demo', '--fast'], valueOption: 'timeout' },
    daemon: { base: ['daemon', 'demo', '--once', '--settle', '0'], valueOption: 'interval', mutates: true },
    stats: { base: ['stats', 'demo'], valueOption: 'root' },
    lineage: { base: ['lineage', 'demo', f.held], valueOption: 'root' },
    graph: { base: ['graph', 'demo'], valueOption: 'format' },
    top: { base: ['top', 'demo', '--once'], valueOption: 'window' },
    // Why no `mutates`: a board serves until Ctrl-C; a refused line must not even start it.
    board: { base: ['board', 'demo', '--port', '0'], valueOption: 'host' },
    commit: { base: ['commit', 'demo'], valueOption: 'message' },
    completion: { base: ['completion'], valueOption: 'shell' },
    schema: { base: ['schema', 'ticket'], valueOption: 'run' },
  };
}

describe('a usage error stops the command before it does anything', () => {
  it.each(COMMANDS.map((c) => c.command.split(' ')[0] as string))('%s', async (name) => {
    const f = await fixture();
    const line = lines(f)[name];
    expect(line, `add a line for the new command "${name}" to this test`).toBeDefined();
    if (!line) return;
    const before = await hashTree(tmp.dir);

    const unknown = await tq(...line.base, '--bogus-flag', '1');
    expect(unknown.code, unknown.stderr).toBe(2);
    expect(unknown.stderr).toContain('unknown option --bogus-flag');
    const malformed = await tq(...line.base, `--${line.valueOption}`, '-5m');
    expect(malformed.code, malformed.stderr).toBe(2);
    expect(malformed.stderr).toContain(`--${line.valueOption} needs a value, but the next word is "-5m"`);
    const json = await tq(...line.base, '--json', '--bogus-flag');
    expect(json.code).toBe(2);
    expect(json.stdout).toBe('');
    expect(jsonOf(json.stderr)).toMatchObject({ schema_version: 1, error: { code: 'USAGE', message: 'unknown option --bogus-flag' } });
    expect(await hashTree(tmp.dir), 'a refused line changed files').toBe(before);

    if (line.mutates) {
      const ran = await tq(...line.base);
      expect(ran.code, ran.stderr).toBe(0);
      expect(await hashTree(tmp.dir), 'the line itself should change files (else this test proves nothing)').not.toBe(before);
    }
  });
});
