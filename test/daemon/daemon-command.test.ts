import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addItems, makeRun, parseItems, type TestRun } from '../helpers/make-run.js';
import { jsonOf, runTq } from '../helpers/capture-io.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';
import { expectFsckOk, ls } from '../helpers/ticket-files.js';
import { completeByHand } from './daemon-test-kit.js';

let root: string;
let run: TestRun;
beforeEach(async () => {
  root = await makeTempDir();
  run = await makeRun(root);
});
afterEach(async () => {
  await removeDir(root);
});

describe('tq daemon (command)', () => {
  it('--once does one full pass, logs one human line per action on stderr, and exits 0', async () => {
    const [a] = await addItems(run.ctx, 'parse', parseItems(2));
    await completeByHand(run.ctx, 'parse', a as string, { beats: [1] });
    await writeFile(join(run.ctx.paths.requests, 'agent-1.json'), '{"stage": "parse", "request_id": "q"}');
    const r = await runTq(root, ['daemon', '--once', '--settle', '0']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('daemon pass done: 2 action(s) on 1 run(s)\n');
    const lines = r.stderr.trim().split('\n');
    expect(lines.some((l) => / demo cascaded parse-\S+ - 1 created, 0 already existed$/.test(l))).toBe(true);
    expect(lines.some((l) => / demo claimed parse-\S+ \[agent-1\] - stage parse, request_id q$/.test(l))).toBe(true);
    expect(await ls(run.ctx.paths.dir)).not.toContain('.daemon.lock');
    await expectFsckOk(run.ctx);
  });

  it('--json: JSON log lines on stderr, one JSON object on stdout', async () => {
    const [a] = await addItems(run.ctx, 'parse', parseItems(1));
    await completeByHand(run.ctx, 'parse', a as string, { beats: [] });
    const r = await runTq(root, ['daemon', 'demo', '--once', '--json', '--settle', '0']);
    expect(r.code).toBe(0);
    expect(jsonOf(r.stdout)).toMatchObject({ runs: ['demo'], actions: 1, once: true });
    const entries = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(entries.map((e) => e.action)).toEqual(['started', 'cascaded', 'stopped']);
    expect(entries[1]).toMatchObject({ run: 'demo', action: 'cascaded', ticket_id: a });
    expect(typeof entries[1]?.at).toBe('string');
  });

  it('exits 8 when another daemon holds the run, 4 for an unknown run, 2 for a bad interval', async () => {
    await writeFile(join(run.ctx.paths.dir, '.daemon.lock'), JSON.stringify({ pid: process.pid, hostname: (await import('node:os')).hostname(), started_at: 'x' }));
    const held = await runTq(root, ['daemon', 'demo', '--once']);
    expect(held.code).toBe(8);
    expect(held.stderr).toContain(`a daemon is already running on run "demo": pid ${process.pid}`);
    expect((await runTq(root, ['daemon', 'demo', '--once', '--force', '--settle', '0'])).code).toBe(0);
    expect(await ls(run.ctx.paths.dir)).toContain('.daemon.lock');
    expect((await runTq(root, ['daemon', 'nosuchrun', '--once'])).code).toBe(4);
    expect((await runTq(root, ['daemon', '--once', '--interval', '0'])).code).toBe(2);
  });
});
