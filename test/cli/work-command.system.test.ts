/**
 * `tq work` as a real process running real programs (small `sh` scripts): many at once, each
 * ticket exactly once; Ctrl-C (SIGINT) with its grace period and the second Ctrl-C; leases kept
 * by heartbeats in real time; usage errors. Programs wait on files, never on time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRun } from '../../src/core/ops/create-run.js';
import { reapExpired } from '../../src/core/ops/reap-claims.js';
import type { RunCtx } from '../../src/core/store/run-context.js';
import { BIN, ensureDistBuilt } from '../helpers/build-dist.js';
import { REPO_ROOT, addItems, examplePipeline, parseItems } from '../helpers/make-run.js';
import { runBin } from '../helpers/run-bin.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';
import { ls, readTicketFile, stateFile } from '../helpers/ticket-files.js';
import { waitFor } from '../helpers/wait-for.js';

let dir: string;
let root: string;
let n = 0;
beforeAll(async () => {
  await ensureDistBuilt();
  dir = await makeTempDir('tq-work-cli-');
  root = join(dir, 'runs');
});
afterAll(async () => {
  await removeDir(dir);
});

async function newRun(items: number): Promise<RunCtx> {
  n += 1;
  const ctx = await createRun(root, `w${n}`, { pipeline: examplePipeline(), durability: 'none' });
  await addItems(ctx, 'parse', parseItems(items));
  return ctx;
}

async function script(name: string, body: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

/** `tq work` in the background: its output so far, and its end. */
function startWork(args: string[]): { child: ChildProcess; out: () => string; ended: Promise<{ code: number | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, [BIN, '--root', root, 'work', ...args], { env: { ...process.env, TQ_DURABILITY: 'none' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const ended = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { child, out: () => stdout, ended };
}

describe('tq work', () => {
  it('runs 8 programs at once over 200 tickets: each ticket exactly once, then a summary', async () => {
    const ctx = await newRun(200);
    const work = join(dir, 'eight');
    await mkdir(join(work, 'started'), { recursive: true });
    // Each program waits until 8 have started: the run cannot finish unless 8 run at once.
    const prog = await script('eight.sh', `touch "$1/started/$TQ_TICKET_ID"
while [ "$(ls "$1/started" | wc -l)" -lt 8 ]; do sleep 0.01; done
echo "$TQ_TICKET_ID" >> "$1/ran.txt"
cat`);
    const r = await runBin(root, ['work', ctx.runId, '--stage', 'parse', '--concurrency', '8', '--until-empty', '--', prog, work]);
    expect(r.code, r.stderr).toBe(0);
    const ran = (await readFile(join(work, 'ran.txt'), 'utf8')).trim().split('\n');
    expect(ran).toHaveLength(200);
    expect(new Set(ran).size).toBe(200);
    const done = await ls(join(ctx.paths.dir, 'completed', 'parse'));
    expect(done).toHaveLength(200);
    for (const name of done.slice(0, 20)) {
      const t = await readTicketFile(join(ctx.paths.dir, 'completed', 'parse', name));
      expect(t.history.filter((h) => h.event === 'claimed')).toHaveLength(1);
      expect(t.output_data).toEqual(t.input_data);
    }
    expect(r.stdout).toMatch(/^worker \S+ on w\d+\/parse: done 200, failed 0, retried 0, lease lost 0, released 0$/m);
    expect(r.stdout).toMatch(/^command time: median \d+(\.\d)?m?s, p95 \d+(\.\d)?m?s over 200 attempt\(s\)$/m);
    expect(r.stdout).toMatch(/ start {3}parse-\S+ {2}attempt 1 {2}\[8\]$/m);
  });

  it('SIGINT: stops claiming, lets a running program finish within --grace, releases the others (attempt not counted), exits 130', async () => {
    const ctx = await newRun(3);
    const work = join(dir, 'sigint');
    await mkdir(join(work, 'started'), { recursive: true });
    // The first program to start (mkdir is the lock) finishes once "go" exists; the other never does.
    const prog = await script('sigint.sh', `input=$(cat)
touch "$1/started/$TQ_TICKET_ID"
if mkdir "$1/first" 2>/dev/null; then echo "$TQ_TICKET_ID" > "$1/first/id"; while [ ! -e "$1/go" ]; do sleep 0.02; done; echo "$input"; else exec sleep 600; fi`);
    const w = startWork([ctx.runId, '--stage', 'parse', '--concurrency', '2', '--grace', '3s', '--worker', 'w1', '--', prog, work]);
    const started = await waitFor(async () => {
      const names = await readdir(join(work, 'started'));
      return names.length === 2 ? names : undefined;
    }, 10_000, 'two programs started');
    const first = await waitFor(async () => (await readFile(join(work, 'first', 'id'), 'utf8').catch(() => '')).trim(), 5000, 'the first program');
    const other = started.find((id) => id !== first) as string;
    w.child.kill('SIGINT');
    await waitFor(() => /SIGINT: claiming no more; 2 running program\(s\) get 3\.0s to finish/.test(w.out()), 10_000, 'the shutdown notice');
    await writeFile(join(work, 'go'), '');
    const r = await w.ended;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stdout).toMatch(/: done 1, failed 0, retried 0, lease lost 0, released 1$/m);
    expect(await ls(join(ctx.paths.dir, 'completed', 'parse'))).toEqual([`${first}.json`]);
    const released = await readTicketFile(stateFile(ctx, 'pending', 'parse', other));
    expect(released.attempts).toBe(0);
    expect(released.history.at(-1)).toMatchObject({ event: 'released', worker_id: 'w1', note: 'the worker shut down before it finished' });
    // The third ticket was never claimed: claiming stopped at the SIGINT.
    expect(await ls(join(ctx.paths.dir, 'pending', 'parse'))).toHaveLength(2);
  });

  it('a second SIGINT stops the programs at once (long before --grace) and releases their tickets', async () => {
    const ctx = await newRun(2);
    const pids = join(dir, 'pids2');
    const prog = await script('forever.sh', `echo $$ >> ${pids}\nexec sleep 600`);
    const w = startWork([ctx.runId, '--stage', 'parse', '--concurrency', '2', '--grace', '10m', '--', prog]);
    await waitFor(async () => (await readFile(pids, 'utf8').catch(() => '')).trim().split('\n').length === 2, 10_000, 'two programs started');
    w.child.kill('SIGINT');
    await waitFor(() => w.out().includes('SIGINT: claiming no more'), 10_000, 'the first notice');
    w.child.kill('SIGINT');
    const r = await w.ended;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stdout).toMatch(/SIGINT again: stopping every program now and releasing its ticket/);
    expect(r.stdout).toMatch(/released 2$/m);
    expect(await ls(join(ctx.paths.dir, 'pending', 'parse'))).toHaveLength(2);
  });

  it('heartbeats keep a program past its lease in real time (--lease 2s, the program runs over 3s)', async () => {
    const ctx = await newRun(1);
    const go = join(dir, 'go-lease');
    const prog = await script('lease.sh', `while [ ! -e ${go} ]; do sleep 0.02; done; cat`);
    const w = startWork([ctx.runId, '--stage', 'parse', '--lease', '2s', '--until-empty', '--worker', 'hb', '--', prog]);
    const first = await waitFor(async () => {
      const [name] = await ls(join(ctx.paths.dir, 'claimed', 'hb'));
      return name ? readTicketFile(join(ctx.paths.dir, 'claimed', 'hb', name)) : undefined;
    }, 10_000, 'claimed');
    const firstExpiry = Date.parse(first.claim?.lease_expires_at ?? '');
    await waitFor(() => Date.now() > firstExpiry + 1000, 10_000, 'past the first lease by a second');
    expect(await reapExpired(ctx)).toEqual([]);
    await writeFile(go, '');
    const r = await w.ended;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/: done 1, failed 0, retried 0, lease lost 0/);
  });

  it('usage errors exit 2 before anything is claimed: no program, a program that is not there, a bad duration', async () => {
    const ctx = await newRun(1);
    const none = await runBin(root, ['work', ctx.runId, '--stage', 'parse']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^tq: name the program to run after --\n {2}hint: e\.g\. tq work gallia --stage translate -- /);
    const missing = await runBin(root, ['work', ctx.runId, '--stage', 'parse', '--', './no-such-program.sh']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot run \.\/no-such-program\.sh: no such executable file/);
    const bad = await runBin(root, ['work', ctx.runId, '--stage', 'parse', '--timeout', 'soon', '--', 'cat']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/timeout: "soon" is not a duration/);
    const stage = await runBin(root, ['work', ctx.runId, '--stage', 'nope', '--', 'cat']);
    expect(stage.code).toBe(2);
    expect(await ls(join(ctx.paths.dir, 'pending', 'parse'))).toHaveLength(1);
  });

  it('--json prints one summary object; a failed ticket makes the exit code 1', async () => {
    const ctx = await newRun(1);
    const r = await runBin(root, ['work', ctx.runId, '--stage', 'parse', '--until-empty', '--json', '--', 'sh', '-c', 'echo nope >&2; exit 3']);
    expect(r.code, r.stderr).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ run_id: ctx.runId, stage: 'parse', done: 0, failed: 1, retried: 2, stopped_by: null, attempts_timed: 3 });
  });

  it('examples/llm-translate.sh works the translate stage without a key (its stand-in); --review-exit sends curate outputs to review', async () => {
    n += 1;
    const pipeline = JSON.parse(await readFile(join(REPO_ROOT, 'examples', 'gallia', 'pipeline.json'), 'utf8')) as unknown;
    const ctx = await createRun(root, `gallia${n}`, { pipeline, durability: 'none' });
    const beat = (node_id: string, text: string): Record<string, string> => ({ node_id, speaker: 'Clerk', text, function: 'inform' });
    await addItems(ctx, 'translate', [
      { walk_id: 'walk-1', beats: [beat('0x1', 'The Republic files every complaint in triplicate.')] },
      { walk_id: 'walk-2', beats: [beat('0x2', 'Nobody crosses the dam after curfew.'), beat('0x3', 'Take it up with the Republic.')] },
    ]);
    const env = { ANTHROPIC_API_KEY: '' };
    const t = await runBin(root, ['work', ctx.runId, '--stage', 'translate', '--until-empty', '--', join(REPO_ROOT, 'examples', 'llm-translate.sh')], { env });
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/: done 2, failed 0, retried 0/);
    const [first] = await ls(join(ctx.paths.dir, 'completed', 'translate'));
    const translated = await readTicketFile(join(ctx.paths.dir, 'completed', 'translate', first as string));
    expect(translated.usage).toMatchObject({ model: 'stand-in' });
    const curate = await ls(join(ctx.paths.dir, 'pending', 'curate'));
    expect(curate.map((name) => name.replace(/-[0-9a-f]+\.json$/, ''))).toEqual(['curate-k-barrage', 'curate-k-hexagone']);
    const c = await runBin(root, ['work', ctx.runId, '--stage', 'curate', '--until-empty', '--review-exit', '3', '--', 'sh', '-c', 'cat; exit 3']);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/: done 2 \(2 to review\), failed 0/);
    expect(await ls(join(ctx.paths.dir, 'needs_review', 'curate'))).toEqual(curate);
  });
});
