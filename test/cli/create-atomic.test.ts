import { spawnSync } from 'node:child_process';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/core/model/errors.js';
import { EXAMPLE_PIPELINE_FILE } from '../helpers/make-run.js';
import { jsonOf, runTq } from '../helpers/capture-io.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';
import { stateFile } from '../helpers/ticket-files.js';
import { openRun } from '../../src/core/store/run-context.js';

let base: string;
let root: string;
beforeEach(async () => {
  base = await makeTempDir('tq-create-atomic-');
  root = join(base, 'runs');
});
afterEach(async () => {
  await removeDir(base);
});

/** The pid of a process that has exited (what a killed `tq create` leaves in its temp name). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

describe('tq create is all or nothing', () => {
  it('a bad line 3 in --input: exit 2, INVALID_INPUT naming file and line, no run and nothing else left under the root', async () => {
    const input = join(base, 'walks.jsonl');
    await writeFile(input, '{"id":"a"}\n{"id":"b"}\n{"id": oops}\n{"id":"d"}\n');
    const r = await runTq(root, ['create', 'r1', '--pipeline', EXAMPLE_PIPELINE_FILE, '--input', input, '--json']);
    expect(r.code).toBe(ERROR_CODES.INVALID_INPUT);
    const err = (JSON.parse(r.stderr) as { error: { code: string; message: string } }).error;
    expect(err.code).toBe('INVALID_INPUT');
    expect(err.message).toContain(`${input}:3`);
    expect(err.message).toContain('run "r1" was not created');
    expect(await readdir(root)).toEqual([]);
    // The same command with the input fixed creates the run.
    await writeFile(input, '{"id":"a"}\n{"id":"b"}\n{"id":"c"}\n');
    const again = await runTq(root, ['create', 'r1', '--pipeline', EXAMPLE_PIPELINE_FILE, '--input', input, '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(jsonOf(again.stdout)).toMatchObject({ run_id: 'r1', added: { created: 3 } });
    expect(await readdir(root)).toEqual(['r1']);
  });

  it('an item failing the stage input_schema: no run either', async () => {
    const pipeline = join(base, 'pipeline.json');
    await writeFile(pipeline, JSON.stringify({ stages: { parse: { input_schema: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } } } }, cascade: [] }));
    const input = join(base, 'items.jsonl');
    await writeFile(input, '{"id":"a"}\n{"id":"b"}\n{"id":3}\n');
    const r = await runTq(root, ['create', 'r1', '--pipeline', pipeline, '--input', input]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${input}:3`);
    expect(await readdir(root)).toEqual([]);
  });

  it('an existing run: RUN_EXISTS at once; a directory that is not a run is named as such', async () => {
    expect((await runTq(root, ['create', 'r1', '--pipeline', EXAMPLE_PIPELINE_FILE])).code).toBe(0);
    const r = await runTq(root, ['create', 'r1', '--pipeline', EXAMPLE_PIPELINE_FILE]);
    expect(r.code).toBe(ERROR_CODES.RUN_EXISTS);
    await mkdir(join(root, 'odd'));
    await writeFile(join(root, 'odd', 'notes.txt'), 'mine');
    const odd = await runTq(root, ['create', 'odd', '--pipeline', EXAMPLE_PIPELINE_FILE]);
    expect(odd.code).toBe(ERROR_CODES.RUN_EXISTS);
    expect(odd.stderr).toContain('is a directory that is not a run (no run.json)');
    expect(await readdir(join(root, 'odd'))).toEqual(['notes.txt']);
  });

  it('what a killed create left is no run: `tq runs` leaves it out and says what it is; the next create of that id removes it', async () => {
    expect((await runTq(root, ['create', 'r0', '--pipeline', EXAMPLE_PIPELINE_FILE])).code).toBe(0);
    const pid = deadPid();
    const leftover = `.r1.creating-${pid}-abc123`;
    await mkdir(join(root, leftover, 'pending', 'parse'), { recursive: true });
    await writeFile(join(root, leftover, 'run.json'), '{}');
    await writeFile(join(root, leftover, 'pending', 'parse', 'parse-x-1.json'), '{}');
    const runs = await runTq(root, ['runs']);
    expect(runs.code).toBe(0);
    expect(runs.stdout).toContain('r0');
    expect(runs.stdout).not.toMatch(/^r1\b/m);
    expect(runs.stdout).toContain(`not a run: ${leftover} is what a killed \`tq create r1\` (pid ${pid}) left`);
    const json = jsonOf((await runTq(root, ['runs', '--json'])).stdout) as { runs: { run_id: string }[]; creating: unknown[] };
    expect(json.runs.map((r) => r.run_id)).toEqual(['r0']);
    expect(json.creating).toEqual([{ name: leftover, run_id: 'r1', pid, abandoned: true }]);
    // Another run's create leaves it alone; a create of r1 removes it.
    expect((await runTq(root, ['create', 'r2', '--pipeline', EXAMPLE_PIPELINE_FILE])).code).toBe(0);
    expect(await readdir(root)).toContain(leftover);
    expect((await runTq(root, ['create', 'r1', '--pipeline', EXAMPLE_PIPELINE_FILE])).code).toBe(0);
    expect((await readdir(root)).sort()).toEqual(['r0', 'r1', 'r2']);
    expect((await runTq(root, ['runs'])).stdout).not.toContain('not a run');
  });

  it('a build of a live process is shown as being created, and not removed', async () => {
    const live = `.r1.creating-${process.pid}-abc123`;
    await mkdir(join(root, live), { recursive: true });
    expect((await runTq(root, ['runs'])).stdout).toContain(`being created: r1 (${live}, pid ${process.pid})`);
    // Its rename would then find the run there (RUN_EXISTS); the create of r1 itself goes ahead.
    expect((await runTq(root, ['create', 'r1', '--pipeline', EXAMPLE_PIPELINE_FILE])).code).toBe(0);
    expect(await readdir(root)).toContain(live);
    await rm(join(root, live), { recursive: true });
  });
});

describe('tq fsck names the ticket of every problem', () => {
  it('each PROBLEM line about a ticket says "(ticket <id>: <state dir>/...)"', async () => {
    const input = join(base, 'walks.jsonl');
    await writeFile(input, '{"id":"a"}\n{"id":"b"}\n{"id":"c"}\n');
    expect((await runTq(root, ['create', 'r1', '--pipeline', EXAMPLE_PIPELINE_FILE, '--input', input])).code).toBe(0);
    const ctx = await openRun(root, 'r1');
    const ids = (await readdir(join(ctx.paths.dir, 'pending', 'parse'))).map((n) => n.replace(/\.json$/, '')).sort() as [string, string, string];
    const [lost, corrupt, twice] = ids;
    await rm(stateFile(ctx, 'pending', 'parse', lost));
    await writeFile(stateFile(ctx, 'pending', 'parse', corrupt), 'garbage');
    await mkdir(join(ctx.paths.dir, 'failed', 'parse'), { recursive: true });
    await writeFile(stateFile(ctx, 'failed', 'parse', twice), '{}');
    const r = await runTq(root, ['fsck', 'r1', '--settle', '0']);
    expect(r.code).toBe(ERROR_CODES.FSCK_PROBLEMS);
    const problems = r.stdout.split('\n').filter((l) => l.startsWith('PROBLEM'));
    expect(problems.length).toBeGreaterThanOrEqual(3);
    expect(problems.find((l) => l.includes('[lost]'))).toContain(`(ticket ${lost}: registry/parse/${lost}.json)`);
    expect(problems.find((l) => l.includes('[corrupt]') && l.includes(corrupt))).toContain(`(ticket ${corrupt}: pending/parse/${corrupt}.json)`);
    expect(problems.find((l) => l.includes(twice) && l.includes('failed/'))).toContain(`(ticket ${twice}: failed/parse/${twice}.json)`);
    for (const line of problems) expect(line, line).toMatch(/\(ticket [\w.-]+: [\w/.~-]+\)/);
  });
});
