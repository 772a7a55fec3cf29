/**
 * Long-running commands print a first line (the board's address, the daemon's 'started', the
 * worker's 'working on'); a Ctrl-C right after it must stop them cleanly. So their SIGINT
 * handlers must be in place when that line is printed: without one, SIGINT kills the process
 * (a daemon mid-pass, a worker holding tickets). Checked in-process at the moment of the line.
 */
import { Readable } from 'node:stream';
import { beforeEach, describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { useCliTempRoot } from '../helpers/cli-temp-root.js';
import { addItems, makeRun, parseItems, type TestRun } from '../helpers/make-run.js';

const tmp = useCliTempRoot();
let run: TestRun;
beforeEach(async () => {
  run = await makeRun(tmp.root);
});

/**
 * An io that, at the command's first printed text, notes how many SIGINT listeners are in
 * place, then "presses Ctrl-C" (emits SIGINT to those listeners) once.
 */
function ctrlCAtFirstLine(): { io: CliIo; listenersAtFirstLine: () => number | undefined; text: () => string } {
  let at: number | undefined;
  let text = '';
  const seen = (t: string): void => {
    text += t;
    if (at !== undefined) return;
    at = process.listenerCount('SIGINT');
    setImmediate(() => process.emit('SIGINT', 'SIGINT'));
  };
  return {
    io: { stdout: seen, stderr: seen, stdin: Readable.from([]), env: process.env, isTTY: false },
    listenersAtFirstLine: () => at,
    text: () => text,
  };
}

/** [command, its arguments after the run id, what its first line says, its exit code after Ctrl-C] */
const COMMANDS: [string, string[], string, number][] = [
  ['board', ['--port', '0'], 'board: http://127.0.0.1:', 0],
  ['daemon', ['--interval', '200ms'], 'started', 0],
  ['work', ['--stage', 'parse', '--worker', 'w1', '--', 'sh', '-c', 'sleep 0.2; cat'], 'working on', 130],
];

describe('a Ctrl-C right after the first line stops a long-running command cleanly', () => {
  const before = process.listenerCount('SIGINT');

  it.each(COMMANDS)('tq %s: its handler is in place when it prints its first line', async (command, rest, firstLine, exitCode) => {
    await addItems(run.ctx, 'parse', parseItems(2));
    const c = ctrlCAtFirstLine();
    const code = await main(['--root', run.ctx.root, command, run.ctx.runId, ...rest], c.io);
    expect(c.text()).toContain(firstLine);
    expect(c.listenersAtFirstLine()).toBeGreaterThan(before);
    expect(code).toBe(exitCode);
    expect(process.listenerCount('SIGINT')).toBe(before);
  });
});
