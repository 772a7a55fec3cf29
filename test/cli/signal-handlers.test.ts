/**
 * Long-running commands print a first line (the board's address, the daemon's 'started', the
 * worker's 'working on'); a Ctrl-C right after it must stop them cleanly. So their SIGINT
 * handlers must be in place when that line is printed: without one, SIGINT kills the process
 * (a daemon mid-pass, a worker holding tickets). Checked in-process at the moment of the line.
 */
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { addItems, makeRun, parseItems, type TestRun } from '../helpers/make-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';

let dir: string;
let run: TestRun;
beforeEach(async () => {
  dir = await makeTempDir('tq-signals-');
  run = await makeRun(join(dir, 'runs'));
});
afterEach(async () => {
  await removeDir(dir);
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
    io: { stdout: seen, stderr: seen, stdin: Readable.from([]), env: { ...process.env, TQ_DURABILITY: 'none' }, isTTY: false },
    listenersAtFirstLine: () => at,
    text: () => text,
  };
}

describe('a Ctrl-C right after the first line stops a long-running command cleanly', () => {
  const before = process.listenerCount('SIGINT');

  it('tq board: its handler is in place when it prints its address', async () => {
    const c = ctrlCAtFirstLine();
    const code = await main(['--root', run.ctx.root, 'board', run.ctx.runId, '--port', '0'], c.io);
    expect(c.text()).toContain('board: http://127.0.0.1:');
    expect(c.listenersAtFirstLine()).toBeGreaterThan(before);
    expect(code).toBe(0);
    expect(process.listenerCount('SIGINT')).toBe(before);
  });

  it("tq daemon: its handler is in place when it logs 'started'", async () => {
    const c = ctrlCAtFirstLine();
    const code = await main(['--root', run.ctx.root, 'daemon', run.ctx.runId, '--interval', '200ms'], c.io);
    expect(c.text()).toContain('started');
    expect(c.listenersAtFirstLine()).toBeGreaterThan(before);
    expect(code).toBe(0);
    expect(process.listenerCount('SIGINT')).toBe(before);
  });

  it("tq work: its handler is in place when it says what it is working on", async () => {
    await addItems(run.ctx, 'parse', parseItems(2));
    const c = ctrlCAtFirstLine();
    const code = await main(['--root', run.ctx.root, 'work', run.ctx.runId, '--stage', 'parse', '--worker', 'w1', '--', 'sh', '-c', 'sleep 0.2; cat'], c.io);
    expect(c.text()).toContain('working on');
    expect(c.listenersAtFirstLine()).toBeGreaterThan(before);
    expect(code).toBe(130);
    expect(process.listenerCount('SIGINT')).toBe(before);
  });
});
