/**
 * commandHandler under a Worker, with real child processes (small `sh` scripts): what a program
 * gets (stdin, TQ_* variables, placeholders), what it hands back (stdout, --output-file,
 * $TQ_CONCERNS, $TQ_USAGE, exit codes), and how it is stopped (timeout, SIGTERM ignored, lease
 * lost). The run's clock is fixed and moved by the tests; programs wait on files, never on time.
 */
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimTicket } from '../../src/core/ops/claim-ticket.js';
import { reapExpired } from '../../src/core/ops/reap-claims.js';
import { showTicket } from '../../src/core/views/show-ticket.js';
import { commandHandler, fillPlaceholders, type CommandOptions } from '../../src/worker/command-handler.js';
import { Worker } from '../../src/worker/worker.js';
import type { JobFailure, WorkerOptions } from '../../src/worker/worker-types.js';
import { addItems, makeRun, parseItems, type TestRun } from '../helpers/make-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';
import { expectFsckOk, ls, readTicketFile, stateFile } from '../helpers/ticket-files.js';
import { waitFor } from '../helpers/wait-for.js';

let dir: string;
let run: TestRun;
let workers: Worker[];

beforeEach(async () => {
  dir = await makeTempDir('tq-command-');
  run = await makeRun(join(dir, 'runs'));
  workers = [];
});
afterEach(async () => {
  await Promise.all(workers.map((w) => w.close({ force: true })));
  await removeDir(dir);
});

async function script(name: string, body: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

function worker(cmd: CommandOptions, opts: WorkerOptions = {}): { w: Worker; failures: JobFailure[] } {
  const w = new Worker(run.ctx, 'parse', commandHandler({ killAfter: 2000, ...cmd }), { workerId: 'w1', pollInterval: 10, heartbeatEvery: 20, reapEvery: false, untilEmpty: true, ...opts });
  const failures: JobFailure[] = [];
  w.on('retrying', (_j, f) => failures.push(f));
  w.on('failed', (_j, f) => failures.push(f));
  workers.push(w);
  return { w, failures };
}

/** Is the process running? A zombie (killed, not yet reaped by its parent or init) is not. */
async function isAlive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat !== undefined && !/^\d+ \(.*\) Z /s.test(stat);
}

/**
 * Expire the claim by the run's clock and reap it. Why a loop: a heartbeat landing between the
 * clock's jump and the reap renews the lease from the new time; the next jump catches it.
 */
async function reapUntilRequeued(): Promise<void> {
  await waitFor(async () => {
    run.clock.advance(11 * 60_000);
    return (await reapExpired(run.ctx)).some((a) => a.action === 'requeued');
  }, 5000, 'the claim reaped');
}

async function onlyTicket(state: string): Promise<ReturnType<typeof readTicketFile>> {
  const [name] = await ls(join(run.ctx.paths.dir, state, 'parse'));
  return readTicketFile(join(run.ctx.paths.dir, state, 'parse', name as string));
}

describe('commandHandler: what the program gets and hands back', () => {
  it('stdin, TQ_* variables and placeholders in; stdout, $TQ_CONCERNS and $TQ_USAGE out; stderr to logs/', async () => {
    const [id] = await addItems(run.ctx, 'parse', [{ id: 'n0', text: 'hello' }]);
    const seen = join(dir, 'seen.txt');
    const prog = await script('ok.sh', `
input=$(cat)
echo "working on $TQ_TICKET_ID" >&2
grep -q '"worker_id": "w1"' "$TQ_TICKET_FILE" && grep -q "$TQ_TICKET_ID" "$TQ_TICKET_FILE" && echo "ticket file ok" >&2
echo "$TQ_WORKDIR" > ${seen}
echo '{"level": "review", "message": "check this", "suggestion": "look"}' > "$TQ_CONCERNS"
echo '{"level": "info", "message": "fine"}' >> "$TQ_CONCERNS"
echo '{"input_tokens": 12, "output_tokens": 3, "model": "sh-1", "cost_usd": 0.5}' > "$TQ_USAGE"
printf '{"walk_id": "%s", "beats": [], "stdin": %s, "file": %s, "args": ["%s", "%s", "%s"], "env": ["%s", "%s", "%s", "%s", "%s"]}' \\
  "$1" "$input" "$(cat "$3")" "$1" "$2" "$4" "$TQ_RUN" "$TQ_STAGE" "$TQ_WORKER" "$TQ_ATTEMPT" "$TQ_ROOT"`);
    const { w } = worker({ command: prog, args: ['{id}', '{stage}', '{input}', 'x{attempt}y{nope}'] });
    expect((await w.run()).done).toBe(1);
    const t = await readTicketFile(stateFile(run.ctx, 'completed', 'parse', id as string));
    expect(t.output_data).toEqual({
      walk_id: id,
      beats: [],
      stdin: { id: 'n0', text: 'hello' },
      file: { id: 'n0', text: 'hello' },
      args: [id, 'parse', 'x1y{nope}'],
      env: [run.ctx.runId, 'parse', 'w1', '1', run.ctx.root],
    });
    expect(t.worker_concerns.map((c) => [c.level, c.message, c.suggestion])).toEqual([['review', 'check this', 'look'], ['info', 'fine', undefined]]);
    expect(t.usage).toMatchObject({ input_tokens: 12, output_tokens: 3, model: 'sh-1', cost_usd: 0.5 });
    // The scratch directory is gone; the log holds stderr between tq's own lines.
    await expect(stat((await readFile(seen, 'utf8')).trim())).rejects.toMatchObject({ code: 'ENOENT' });
    const view = await showTicket(run.ctx, id as string);
    expect(view.logs).toEqual([join(run.ctx.paths.logs, `${id}.1.log`)]);
    const log = await readFile(view.logs[0] as string, 'utf8');
    expect(log).toMatch(new RegExp(`^# tq work: ${prog} ${id} parse /\\S+/input.json 'x1y\\{nope\\}'\\n# ticket ${id}, attempt 1, worker w1, started .*\\nworking on ${id}\\nticket file ok\\n# exit code 0 after [\\d.]+m?s\\n$`));
    await expectFsckOk(run.ctx);
  });

  it('--output-file: the output is read from a file in $TQ_WORKDIR', async () => {
    await addItems(run.ctx, 'parse', parseItems(1));
    const prog = await script('file.sh', `echo '{"walk_id": "from-file", "beats": []}' > "$TQ_OUTPUT_FILE"; echo ignored`);
    const { w } = worker({ command: prog, args: [], outputFile: 'out.json' });
    expect((await w.run()).done).toBe(1);
    expect((await onlyTicket('completed')).output_data).toEqual({ walk_id: 'from-file', beats: [] });
  });

  it('--review-exit: that exit code submits the output to needs_review', async () => {
    await addItems(run.ctx, 'parse', parseItems(1));
    const prog = await script('review.sh', `echo '{"walk_id": "w", "beats": []}'; exit 5`);
    const { w } = worker({ command: prog, args: [], reviewExit: 5 });
    expect(await w.run()).toMatchObject({ done: 1, needs_review: 1 });
    expect((await onlyTicket('needs_review')).output_data).toEqual({ walk_id: 'w', beats: [] });
  });

  it('another exit code fails the attempt with the stderr tail on the ticket; after max_attempts it is in failed/', async () => {
    await addItems(run.ctx, 'parse', parseItems(1));
    const prog = await script('bad.sh', `echo '{"walk_id": "w", "beats": []}'; echo "attempt $TQ_ATTEMPT: model unavailable" >&2; exit 7`);
    const { w, failures } = worker({ command: prog, args: [] });
    expect(await w.run()).toMatchObject({ done: 0, retried: 2, failed: 1 });
    expect(failures.map((f) => [f.error, f.stderrTail?.trim(), f.attempts])).toEqual([
      ['exit code 7', 'attempt 1: model unavailable', 1],
      ['exit code 7', 'attempt 2: model unavailable', 2],
      ['exit code 7', 'attempt 3: model unavailable', 3],
    ]);
    const t = await onlyTicket('failed');
    expect(t.history.filter((h) => h.event === 'attempt failed').map((h) => h.note)).toEqual([1, 2, 3].map((n) => `attempt ${n} of 3 failed: exit code 7`));
    expect(t.attempt_errors?.map((e) => [e.attempt, e.error, e.stderr_tail])).toEqual([1, 2, 3].map((n) => [n, 'exit code 7', `attempt ${n}: model unavailable`]));
    expect((await showTicket(run.ctx, t.ticket_id)).logs.map((p) => p.slice(-6))).toEqual(['.1.log', '.2.log', '.3.log']);
  });

  it('stdout that is not JSON, or is empty, fails the attempt saying so', async () => {
    await addItems(run.ctx, 'parse', parseItems(2));
    const prog = await script('junk.sh', `if [ "$TQ_ATTEMPT" = 1 ]; then echo 'Sure! Here is your JSON: {'; fi`);
    const { w, failures } = worker({ command: prog, args: [] }, { concurrency: 1 });
    await w.run();
    expect(failures.filter((f) => f.attempts === 1).map((f) => f.error)).toEqual([
      expect.stringMatching(/^stdout is not valid JSON \(.*\); it began: "Sure! Here is your JSON: \{"$/),
      expect.stringMatching(/^stdout is not valid JSON/),
    ]);
    expect(failures.filter((f) => f.attempts === 2).map((f) => f.error)).toEqual(['stdout is empty: the program must print the output JSON object', 'stdout is empty: the program must print the output JSON object']);
  });

  it('a bad $TQ_CONCERNS line fails the attempt, naming the line', async () => {
    await addItems(run.ctx, 'parse', parseItems(1));
    const prog = await script('concern.sh', `printf '{"level":"info","message":"a"}\\n{"level":"loud","message":"b"}\\n' > "$TQ_CONCERNS"; echo '{"walk_id": "w", "beats": []}'`);
    const { w, failures } = worker({ command: prog, args: [] });
    await w.run();
    expect(failures[0]?.error).toMatch(/^\$TQ_CONCERNS line 2 must be \{"level": "info"\|"review"\|"error"/);
  });

  it('caps the log: the head up to the cap, the count dropped, the last lines', async () => {
    const [id] = await addItems(run.ctx, 'parse', parseItems(1));
    const prog = await script('noisy.sh', `i=0; while [ $i -lt 2000 ]; do echo "noise line $i" >&2; i=$((i+1)); done; echo '{"walk_id": "w", "beats": []}'`);
    const { w } = worker({ command: prog, args: [], logCap: 1000 });
    await w.run();
    const log = await readFile(join(run.ctx.paths.logs, `${id}.1.log`), 'utf8');
    expect(log).toContain('noise line 0\n');
    expect(log).toMatch(/# stderr went over the 1000-byte log cap: \d+ more bytes were not logged; the last of them follow\n/);
    expect(log).toMatch(/noise line 1999\n# exit code 0 after/);
    expect(log.length).toBeLessThan(1000 + 8 * 1024 + 1000);
    expect(await ls(run.ctx.paths.logs)).toEqual([`${id}.1.log`]);
  });

  it('fills only known placeholders', () => {
    expect(fillPlaceholders('{id}/{stage}-{x}{}', { id: 'a', stage: 'b' })).toBe('a/b-{x}{}');
  });
});

describe('commandHandler: stopping programs', () => {
  it('--timeout: SIGTERM ends the program and the attempt fails', async () => {
    await addItems(run.ctx, 'parse', parseItems(1));
    const prog = await script('slow.sh', 'exec sleep 60');
    const { w, failures } = worker({ command: prog, args: [] }, { timeout: 100 });
    await w.run();
    expect(failures.map((f) => f.error)).toEqual(['timed out after 100ms', 'timed out after 100ms', 'timed out after 100ms']);
  });

  it('a program that ignores SIGTERM is SIGKILLed after the kill-after time, with what it started', async () => {
    const [id] = await addItems(run.ctx, 'parse', parseItems(1));
    const pids = join(dir, 'pids');
    const prog = await script('stubborn.sh', `trap '' TERM\nsleep 60 &\necho "$$ $!" >> ${pids}\nwait`);
    const { w, failures } = worker({ command: prog, args: [], killAfter: 200 }, { timeout: 100, untilEmpty: false });
    const done = w.run();
    await waitFor(() => failures.length === 1, 10_000, 'the first attempt failed');
    await w.close({ force: true });
    await done;
    expect(failures[0]?.error).toBe('timed out after 100ms');
    const [shell, child] = (await readFile(pids, 'utf8')).split('\n')[0]?.split(' ').map(Number) ?? [];
    await waitFor(async () => !(await isAlive(shell as number)) && !(await isAlive(child as number)), 5000, 'the program and its child gone');
    expect(await readFile(join(run.ctx.paths.logs, `${id}.1.log`), 'utf8')).toMatch(/# killed by SIGKILL \(timed out after 100ms\) after/);
  });

  it('runs past its lease while heartbeats renew it (10m lease, 27m by the run clock)', async () => {
    const [id] = await addItems(run.ctx, 'parse', parseItems(1));
    const go = join(dir, 'go');
    const prog = await script('long.sh', `while [ ! -e ${go} ]; do sleep 0.02; done; echo '{"walk_id": "late but fine", "beats": []}'`);
    const { w } = worker({ command: prog, args: [] });
    const done = w.run();
    const file = stateFile(run.ctx, 'claimed', 'w1', id as string);
    await waitFor(async () => (await ls(join(run.ctx.paths.dir, 'claimed', 'w1'))).length === 1, 5000, 'claimed');
    for (let i = 1; i <= 3; i += 1) {
      run.clock.advance(9 * 60_000);
      const want = run.clock.now().getTime() + 10 * 60_000;
      // Why the catch: a heartbeat is a fenced move; while it runs the ticket is in moving/, not at `file`.
      await waitFor(async () => Date.parse((await readTicketFile(file).catch(() => undefined))?.claim?.lease_expires_at ?? '') >= want, 5000, 'a heartbeat');
      expect(await reapExpired(run.ctx)).toEqual([]);
    }
    await writeFile(go, '');
    expect((await done).done).toBe(1);
    expect((await readTicketFile(stateFile(run.ctx, 'completed', 'parse', id as string))).output_data).toEqual({ walk_id: 'late but fine', beats: [] });
  });

  it('a lost lease (the ticket was reaped: the heartbeat is refused) kills the program; the worker moves on', async () => {
    const [id] = await addItems(run.ctx, 'parse', parseItems(1));
    const pidFile = join(dir, 'pid');
    const prog = await script('hang.sh', `if [ "$TQ_ATTEMPT" = 1 ]; then echo $$ > ${pidFile}; exec sleep 60; fi; echo '{"walk_id": "second", "beats": []}'`);
    const lost: string[] = [];
    const { w } = worker({ command: prog, args: [] });
    w.on('lease-lost', (_j, err) => lost.push(err.code));
    const done = w.run();
    const pid = Number(await waitFor(async () => (await readFile(pidFile, 'utf8').catch(() => '')).trim(), 5000, 'the program started'));
    await reapUntilRequeued();
    await waitFor(async () => !(await isAlive(pid)), 5000, 'the program killed');
    expect(await done).toMatchObject({ lease_lost: 1, done: 1 });
    expect(lost).toEqual(['LEASE_LOST']);
    expect((await readTicketFile(stateFile(run.ctx, 'completed', 'parse', id as string))).output_data).toEqual({ walk_id: 'second', beats: [] });
  });

  it('with heartbeats off, past its lease the program is stopped; what it prints on SIGTERM is kept in rejected/', async () => {
    const [id] = await addItems(run.ctx, 'parse', parseItems(1));
    const pidFile = join(dir, 'pid');
    const prog = await script('flush.sh', `trap 'echo "{\\"walk_id\\": \\"partial\\", \\"beats\\": []}"; exit 0' TERM\necho $$ > ${pidFile}\nwhile :; do sleep 0.02; done`);
    const lost: string[] = [];
    const { w } = worker({ command: prog, args: [] }, { heartbeatEvery: false, untilEmpty: false });
    w.on('lease-lost', (_j, err) => lost.push(err.code));
    const done = w.run();
    const pid = Number(await waitFor(async () => (await readFile(pidFile, 'utf8').catch(() => '')).trim(), 5000, 'the program started'));
    run.clock.advance(11 * 60_000);
    expect((await reapExpired(run.ctx)).map((a) => a.action)).toEqual(['requeued']);
    expect((await claimTicket(run.ctx, { stage: 'parse', workerId: 'w2' }))?.ticket.ticket_id).toBe(id);
    await waitFor(() => lost.length === 1, 5000, 'lease-lost');
    await waitFor(async () => !(await isAlive(pid)), 5000, 'the program gone');
    expect(lost).toEqual(['LEASE_LOST']);
    const [rejected] = await ls(run.ctx.paths.rejected);
    const record = JSON.parse(await readFile(join(run.ctx.paths.rejected, rejected as string), 'utf8')) as { output_data: unknown; worker_id: string };
    expect(record).toMatchObject({ output_data: { walk_id: 'partial', beats: [] }, worker_id: 'w1' });
    await w.close();
    await done;
  });
});
