/**
 * `tq work` in-process (main() with a captured io): the live display on a terminal and the
 * summary lines. Real child processes (`sh`), real claims; the system test covers signals.
 */
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';
import { ls, readTicketFile } from '../helpers/ticket-files.js';
import { captureIo } from '../helpers/capture-io.js';
import { addItems, makeRun, parseItems, type TestRun } from '../helpers/make-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';

let dir: string;
let run: TestRun;

beforeEach(async () => {
  dir = await makeTempDir('tq-work-inproc-');
  run = await makeRun(join(dir, 'runs'));
});
afterEach(async () => {
  await removeDir(dir);
});

function terminalIo(): { io: CliIo; out: () => string } {
  let out = '';
  return {
    io: { stdout: (t) => (out += t), stderr: (t) => (out += t), stdin: Readable.from([]), env: process.env, isTTY: true },
    out: () => out,
  };
}

describe('tq work on a terminal', () => {
  it('draws a live line per slot under the retries and failures, then the summary', async () => {
    await addItems(run.ctx, 'parse', parseItems(3));
    const t = terminalIo();
    const program = 'input=$(cat); case "$input" in *n1*) echo "no luck" >&2; exit 4;; esac; echo "$input"';
    const code = await main(['--root', run.ctx.root, 'work', run.ctx.runId, '--stage', 'parse', '--concurrency', '2', '--worker', 'w1', '--until-empty', '--', 'sh', '-c', program], t.io);
    const out = t.out();
    expect(code, out).toBe(1);
    expect(out).toMatch(/tq work demo\/parse as w1: done \d, failed \d, retried \d, running \d/);
    expect(out).toMatch(/ {2}\[2\] (waiting for a ticket|parse-\S+ {2}attempt \d)/);
    expect(out).toMatch(/\d\d:\d\d:\d\d retry {3}parse-\S+ {2}attempt 1 of 3: exit code 4 \| no luck/);
    expect(out).toMatch(/\d\d:\d\d:\d\d FAILED {2}parse-\S+ {2}attempt 3 of 3: exit code 4 \| no luck \(now in failed\/\)/);
    expect(out).toMatch(/worker w1 on demo\/parse: done 2, failed 1, retried 2, lease lost 0, released 0\ncommand time: median \S+, p95 \S+ over 5 attempt\(s\)\n$/);
  });
});

describe('tq work command line', () => {
  it('leaves everything after -- to the program: its own --options, a lone -, {placeholders}', async () => {
    await addItems(run.ctx, 'parse', parseItems(1));
    const program = 'printf \'{"args": ["%s", "%s", "%s", "%s", "%s"]}\' "$1" "$2" "$3" "$4" "$5"';
    const c = captureIo('', process.env);
    const code = await main(['--root', run.ctx.root, 'work', run.ctx.runId, '--stage', 'parse', '--until-empty', '--', 'sh', '-c', program, 'sh', '--output', '-', '--json', '{stage}', '--'], c.io);
    expect(code, c.err()).toBe(0);
    expect(c.out()).toMatch(/: done 1, failed 0/);
    const [name] = await ls(join(run.ctx.paths.dir, 'completed', 'parse'));
    const t = await readTicketFile(join(run.ctx.paths.dir, 'completed', 'parse', name as string));
    expect(t.output_data).toEqual({ args: ['--output', '-', '--json', 'parse', '--'] });
  });
});
