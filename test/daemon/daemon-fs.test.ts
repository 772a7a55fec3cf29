import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimTicket } from '../../src/core/ops/claim-ticket.js';
import { nodeFs, type Fs } from '../../src/core/store/fs-layer.js';
import { addItems, makeRun, parseItems, type TestRun } from '../helpers/make-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';
import { ls } from '../helpers/ticket-files.js';
import { passDaemon, workerDir } from './daemon-test-kit.js';

let root: string;
let run: TestRun;
beforeEach(async () => {
  root = await makeTempDir();
  run = await makeRun(root);
});
afterEach(async () => {
  await removeDir(root);
});

/** nodeFs that records every call (op and first path), and fails `failing` calls with EIO. */
function recordingFs(failing: (op: string, path: string) => boolean = () => false): { fs: Fs; calls: [string, string][] } {
  const calls: [string, string][] = [];
  const fs = { ...nodeFs } as Record<string, unknown>;
  for (const [op, real] of Object.entries(nodeFs) as [string, (...a: unknown[]) => Promise<unknown>][]) {
    fs[op] = async (...args: unknown[]) => {
      const path = String(args[0]);
      calls.push([op, path]);
      if (failing(op, path)) throw Object.assign(new Error(`EIO: injected fault, ${op} '${path}'`), { code: 'EIO', syscall: op });
      return real(...args);
    };
  }
  return { fs: fs as unknown as Fs, calls };
}

async function claimWithResult(): Promise<{ id: string; result: string }> {
  const [id] = await addItems(run.ctx, 'parse', parseItems(1));
  await claimTicket(run.ctx, { stage: 'parse', workerId: 'w1', lease: '1h' });
  const result = join(workerDir(run.ctx, 'w1'), `${id}~1.result.json`);
  await writeFile(result, JSON.stringify({ output_data: { beats: [1] } }));
  return { id: String(id), result };
}

describe('the daemon’s filesystem calls', () => {
  it('go through the Fs it is given: the runs root, run.json and agents’ files', async () => {
    const { id, result } = await claimWithResult();
    const rec = recordingFs();
    const d = await passDaemon(root, run.clock, { fs: rec.fs });
    await d.daemon.pass();
    await d.daemon.stop();
    expect(await ls(join(run.ctx.paths.dir, 'completed', 'parse'))).toEqual([`${id}.json`]);
    expect(rec.calls).toContainEqual(['readdir', root]);
    expect(rec.calls).toContainEqual(['stat', root]);
    expect(rec.calls).toContainEqual(['readFile', run.ctx.paths.runJson]);
    expect(rec.calls).toContainEqual(['lstat', result]);
    expect(rec.calls).toContainEqual(['readUpTo', result]);
    // The submit's moves, inside the run, too.
    expect(rec.calls.some(([op, p]) => op === 'rename' && p.startsWith(run.ctx.paths.dir))).toBe(true);
  });

  it('a fault injected there reaches the daemon: logged, the file kept for the next pass', async () => {
    const { id, result } = await claimWithResult();
    const rec = recordingFs((op, path) => op === 'readUpTo' && path === result);
    const d = await passDaemon(root, run.clock, { fs: rec.fs });
    await d.daemon.pass();
    await d.daemon.stop();
    expect(d.actions('error').map((e) => e.error?.code)).toContain('IO_ERROR');
    expect(await ls(workerDir(run.ctx, 'w1'))).toEqual([`${id}.json`, `${id}~1.result.json`].sort());
  });
});
