/**
 * The Worker library with in-process handlers: the claim → heartbeat → submit loop, failed
 * attempts and retries, lease loss, timeouts, shutdown, draining. The run's clock is fixed and
 * moved by the tests (leases expire by it); heartbeats and polls are real timers, kept short.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimTicket } from '../../src/core/ops/claim-ticket.js';
import { reapExpired } from '../../src/core/ops/reap-claims.js';
import { pauseRun, resumeRun } from '../../src/core/ops/pause-run.js';
import type { JsonObject, Ticket } from '../../src/core/model/ticket-schema.js';
import { Worker } from '../../src/worker/worker.js';
import { WorkStopped, type Handler, type JobContext, type WorkerOptions } from '../../src/worker/worker-types.js';
import { addItems, examplePipeline, makeRun, parseItems, T0, type TestRun } from '../helpers/make-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';
import { expectFsckOk, ls, readTicketFile, stateFile } from '../helpers/ticket-files.js';
import { waitFor } from '../helpers/wait-for.js';

let dir: string;
let run: TestRun;
let workers: Worker[];

beforeEach(async () => {
  dir = await makeTempDir('tq-worker-');
  run = await makeRun(join(dir, 'runs'));
  workers = [];
});
afterEach(async () => {
  await Promise.all(workers.map((w) => w.close({ force: true })));
  await removeDir(dir);
});

/** A worker on `parse` with short timers, closed after the test. */
function worker(handler: Handler, opts: WorkerOptions = {}): Worker {
  const w = new Worker(run.ctx, 'parse', handler, { workerId: 'w1', pollInterval: 10, heartbeatEvery: 20, reapEvery: false, ...opts });
  workers.push(w);
  return w;
}

/** A handler that waits until released by the test (or stopped), then returns `output`. */
function gate(): { handler: Handler; open: () => void; started: Ticket[]; contexts: JobContext[] } {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  const started: Ticket[] = [];
  const contexts: JobContext[] = [];
  return {
    started,
    contexts,
    open: () => open(),
    handler: async (t, ctx) => {
      started.push(t);
      contexts.push(ctx);
      await opened;
      return { walk_id: t.ticket_id, beats: [] };
    },
  };
}

async function files(state: string, stage = 'parse'): Promise<string[]> {
  return ls(join(run.ctx.paths.dir, state, stage));
}

describe('Worker: the loop', () => {
  it('submits what the handler returns, with its concerns, usage and needs_review, then drains (untilEmpty)', async () => {
    const ids = await addItems(run.ctx, 'parse', parseItems(3));
    const events: string[] = [];
    const w = worker(async (t, ctx) => {
      ctx.concern('review', `odd walk ${String(t.input_data.id)}`, 'check it');
      ctx.usage({ input_tokens: 10, model: 'm' });
      ctx.usage({ output_tokens: 5 });
      if (t.input_data.id === 'n1') ctx.needsReview();
      return { walk_id: String(t.input_data.id), beats: [] } satisfies JsonObject;
    }, { untilEmpty: true });
    w.on('completed', (job, d) => events.push(`${String(job.ticket.input_data.id)} ${d.status}`));
    w.on('drained', () => events.push('drained'));
    const summary = await w.run();
    expect(events.sort()).toEqual(['drained', 'n0 completed', 'n1 needs_review', 'n2 completed']);
    expect(summary).toMatchObject({ worker_id: 'w1', stage: 'parse', done: 3, needs_review: 1, failed: 0, retried: 0, attempts_timed: 3 });
    expect(summary.median_ms).not.toBeNull();
    expect((await files('completed')).length).toBe(2);
    const reviewed = await readTicketFile(join(run.ctx.paths.dir, 'needs_review', 'parse', (await files('needs_review'))[0] as string));
    expect(reviewed.worker_concerns).toEqual([expect.objectContaining({ level: 'review', message: 'odd walk n1', suggestion: 'check it', worker_id: 'w1' })]);
    expect(reviewed.usage).toMatchObject({ input_tokens: 10, output_tokens: 5, model: 'm' });
    expect(typeof reviewed.usage?.duration_ms).toBe('number');
    expect(ids).toHaveLength(3);
    expect(await files('pending', 'translate')).toHaveLength(2);
    await expectFsckOk(run.ctx);
  });

  it('runs `concurrency` handlers at once and works every ticket exactly once', async () => {
    await addItems(run.ctx, 'parse', parseItems(40));
    let running = 0;
    let most = 0;
    const seen: string[] = [];
    let release!: () => void;
    const fourRunning = new Promise<void>((r) => (release = r));
    const w = worker(async (t) => {
      running += 1;
      most = Math.max(most, running);
      seen.push(t.ticket_id);
      if (running === 4) release();
      await fourRunning;
      running -= 1;
      return { walk_id: t.ticket_id, beats: [] };
    }, { concurrency: 4, untilEmpty: true });
    const done = w.run();
    await waitFor(() => most === 4, 5000, 'four handlers running at once');
    const summary = await done;
    expect(most).toBe(4);
    expect(summary.done).toBe(40);
    expect(new Set(seen).size).toBe(40);
    expect(seen).toHaveLength(40);
  });

  it('a paused stage is waited out (one "paused" event, no error, nothing claimed), then worked once resumed', async () => {
    await addItems(run.ctx, 'parse', parseItems(2));
    await pauseRun(run.ctx, { stage: 'parse', reason: 'quota' });
    const events: string[] = [];
    const w = worker(async (t) => ({ walk_id: t.ticket_id, beats: [] }), { untilEmpty: true });
    w.on('paused', (err) => events.push(`paused ${err.code}`));
    w.on('error', (err) => events.push(`error ${String(err)}`));
    const summary = w.run();
    // Polled, not slept: several claims answer PAUSED before the pause is lifted.
    await waitFor(() => events.length > 0, 5000, 'the paused event');
    await resumeRun(run.ctx);
    expect(await summary).toMatchObject({ done: 2 });
    expect(events).toEqual(['paused PAUSED']);
  });

  it('a handler that throws fails the attempt: retrying, then failed/ after max_attempts', async () => {
    await addItems(run.ctx, 'parse', parseItems(1));
    const events: string[] = [];
    const w = worker(async (_t, ctx) => {
      throw Object.assign(new Error(`model said no (attempt ${ctx.attempt})`), { stderrTail: 'trace line\n' });
    }, { untilEmpty: true });
    w.on('retrying', (job, f) => events.push(`retrying ${job.attempt} ${f.attempts}/${f.maxAttempts}: ${f.error}`));
    w.on('failed', (job, f) => events.push(`failed ${job.attempt} ${f.attempts}/${f.maxAttempts}: ${f.error}`));
    const summary = await w.run();
    expect(events).toEqual(['retrying 1 1/3: model said no (attempt 1)', 'retrying 2 2/3: model said no (attempt 2)', 'failed 3 3/3: model said no (attempt 3)']);
    expect(summary).toMatchObject({ done: 0, failed: 1, retried: 2 });
    const t = await readTicketFile(join(run.ctx.paths.dir, 'failed', 'parse', (await files('failed'))[0] as string));
    expect(t.history.at(-1)?.note).toBe('attempt 3 of 3 failed: model said no (attempt 3)');
    expect(t.attempt_errors?.map((e) => [e.attempt, e.error, e.stderr_tail])).toEqual([1, 2, 3].map((n) => [n, `model said no (attempt ${n})`, 'trace line']));
  });

  it('untilEmpty waits out a retry backoff: the stage is not drained while a retry is still to come', async () => {
    const pipeline = examplePipeline() as { stages: Record<string, Record<string, unknown>> };
    (pipeline.stages.parse as Record<string, unknown>).retry = { backoff: 'fixed', delay: '1m' };
    run = await makeRun(join(dir, 'runs-retry'), 'demo', pipeline);
    await addItems(run.ctx, 'parse', parseItems(1));
    const w = worker(async (t, ctx) => {
      if (ctx.attempt === 1) throw new Error('flaky model');
      return { walk_id: t.ticket_id, beats: [] };
    }, { untilEmpty: true });
    let retried = false;
    w.on('retrying', () => (retried = true));
    let finished = false;
    const summary = w.run().finally(() => (finished = true));
    await waitFor(() => retried, 5000, 'the first attempt to fail');
    // The retry is due in a minute by the run's clock: polls come and go, the worker stays.
    await waitFor(async () => (await ls(join(run.ctx.paths.dir, 'pending', 'parse', 'lanes'))).length > 0, 5000, 'the retry lane');
    // Why count clock reads: each idle poll asks the run's clock whether the retry is due yet.
    const clock = run.ctx.clock;
    const now = clock.now.bind(clock);
    let reads = 0;
    clock.now = () => ((reads += 1), now());
    await waitFor(() => reads >= 10 || finished, 5000, 'ten idle polls');
    expect(finished, 'the worker stopped before the retry was due').toBe(false);
    run.clock.advance(2 * 60_000);
    expect(await summary).toMatchObject({ done: 1, failed: 0, retried: 1 });
  });

  it('an output the run refuses (an array) fails the attempt, saying why', async () => {
    await addItems(run.ctx, 'parse', parseItems(1));
    const errors: string[] = [];
    const w = worker(async () => [1, 2], { untilEmpty: true });
    w.on('retrying', (_job, f) => errors.push(f.error));
    w.on('failed', (_job, f) => errors.push(f.error));
    await w.run();
    expect(errors).toHaveLength(3);
    expect(errors[0]).toMatch(/^output refused: output_data must be a JSON object, got an array/);
  });

  it('with nothing to do it says drained once and keeps polling until closed', async () => {
    let drained = 0;
    const g = gate();
    g.open();
    const w = worker(g.handler);
    w.on('drained', () => (drained += 1));
    const done = w.run();
    await waitFor(() => drained === 1, 5000, 'drained');
    await addItems(run.ctx, 'parse', parseItems(1));
    await waitFor(async () => (await files('completed')).length === 1, 5000, 'the new ticket done');
    await waitFor(() => drained === 2, 5000, 'drained again');
    expect((await w.close()).done).toBe(1);
    await done;
  });
});

describe('Worker: leases', () => {
  it('heartbeats keep a ticket while its handler runs past the lease (10m by the run clock)', async () => {
    const [id] = await addItems(run.ctx, 'parse', parseItems(1));
    const g = gate();
    const w = worker(g.handler, { untilEmpty: true });
    const done = w.run();
    await waitFor(() => g.started.length === 1, 5000, 'the handler started');
    const file = stateFile(run.ctx, 'claimed', 'w1', id as string);
    for (const minutes of [9, 18, 27]) {
      run.clock.advance(9 * 60_000);
      const want = Date.parse(T0) + (minutes + 10) * 60_000;
      // Why the catch: a heartbeat is a fenced move; while it runs the ticket is in moving/, not at `file`.
      await waitFor(async () => Date.parse((await readTicketFile(file).catch(() => undefined))?.claim?.lease_expires_at ?? '') >= want, 5000, `a heartbeat at +${minutes}m`);
      expect(await reapExpired(run.ctx)).toEqual([]);
    }
    g.open();
    expect((await done).done).toBe(1);
  });

  it('a refused heartbeat (the ticket was reaped) aborts ctx.signal; a late output goes to rejected/, and the worker moves on', async () => {
    const [id] = await addItems(run.ctx, 'parse', parseItems(1));
    const lost: string[] = [];
    const w = worker(async (t, ctx) => {
      if (ctx.attempt === 1) {
        await new Promise((r) => ctx.signal.addEventListener('abort', r, { once: true }));
        expect(ctx.signal.reason).toBeInstanceOf(WorkStopped);
        return { walk_id: 'late', beats: [], why: (ctx.signal.reason as WorkStopped).kind };
      }
      return { walk_id: t.ticket_id, beats: [] };
    }, { untilEmpty: true });
    w.on('lease-lost', (job, err) => lost.push(`${job.ticket.ticket_id} ${err.code}`));
    const done = w.run();
    await waitFor(async () => (await ls(join(run.ctx.paths.dir, 'claimed', 'w1'))).length === 1, 5000, 'claimed');
    // Why a loop: a heartbeat landing between the clock's jump and the reap renews the lease from the new time.
    await waitFor(async () => {
      run.clock.advance(11 * 60_000);
      return (await reapExpired(run.ctx)).some((a) => a.action === 'requeued');
    }, 5000, 'the claim reaped');
    const summary = await done;
    expect(lost).toEqual([`${id} LEASE_LOST`]);
    expect(summary).toMatchObject({ lease_lost: 1, done: 1 });
    const [rejected] = await ls(run.ctx.paths.rejected);
    const record = JSON.parse(await import('node:fs/promises').then((f) => f.readFile(join(run.ctx.paths.rejected, rejected as string), 'utf8'))) as { output_data: unknown; reason: string };
    expect(record.output_data).toEqual({ walk_id: 'late', beats: [], why: 'lease-lost' });
    expect(record.reason).toMatch(/^LEASE_LOST/);
    const t = await readTicketFile(stateFile(run.ctx, 'completed', 'parse', id as string));
    expect(t.attempts).toBe(1);
    await expectFsckOk(run.ctx);
  });

  it('without heartbeats the lease is a deadline: past it the handler is told to stop; its late output is kept in rejected/', async () => {
    const [id] = await addItems(run.ctx, 'parse', parseItems(1));
    const g = gate();
    const lost: string[] = [];
    const w = worker(g.handler, { heartbeatEvery: false });
    w.on('lease-lost', (_job, err) => lost.push(err.code));
    const done = w.run();
    await waitFor(() => g.started.length === 1, 5000, 'the handler started');
    run.clock.advance(11 * 60_000);
    expect((await reapExpired(run.ctx)).map((a) => a.action)).toEqual(['requeued']);
    // Another worker takes it meanwhile: the late submit is refused, not applied.
    const other = await claimTicket(run.ctx, { stage: 'parse', workerId: 'w2' });
    expect(other?.ticket.ticket_id).toBe(id);
    const signal = g.contexts[0]?.signal;
    await waitFor(() => signal?.aborted, 5000, 'the handler told to stop');
    expect((signal?.reason as WorkStopped).kind).toBe('lease-lost');
    expect((signal?.reason as WorkStopped).message).toMatch(/^its lease ran out at .* \(no heartbeats\)$/);
    g.open();
    await waitFor(() => lost.length === 1, 5000, 'lease-lost');
    expect(lost).toEqual(['LEASE_LOST']);
    expect(await ls(run.ctx.paths.rejected)).toHaveLength(1);
    expect((await w.close()).lease_lost).toBe(1);
    await done;
  });

  it('reaps expired claims while idle (no daemon): a dead worker\'s ticket is worked again', async () => {
    const [id] = await addItems(run.ctx, 'parse', parseItems(1));
    await claimTicket(run.ctx, { stage: 'parse', workerId: 'dead' });
    run.clock.advance(11 * 60_000);
    const g = gate();
    g.open();
    const reaped: string[] = [];
    const w = worker(g.handler, { untilEmpty: true, reapEvery: 0 });
    w.on('reaped', (actions) => reaped.push(...actions.map((a) => `${a.ticket_id} ${a.action}`)));
    expect((await w.run()).done).toBe(1);
    expect(reaped).toEqual([`${id} requeued`]);
  });
});

describe('Worker: timeouts and shutdown', () => {
  it('a handler past its timeout is told to stop and its attempt fails', async () => {
    await addItems(run.ctx, 'parse', parseItems(1));
    const errors: string[] = [];
    const w = worker(async (_t, ctx) => {
      await new Promise((r) => ctx.signal.addEventListener('abort', r, { once: true }));
      throw new Error('stopped');
    }, { timeout: 30, untilEmpty: true });
    w.on('retrying', (_j, f) => errors.push(f.error));
    w.on('failed', (_j, f) => errors.push(f.error));
    const summary = await w.run();
    expect(errors).toEqual(['timed out after 30ms', 'timed out after 30ms', 'timed out after 30ms']);
    expect(summary).toMatchObject({ failed: 1, retried: 2 });
  });

  it('close({grace}) stops claiming, lets handlers finish within the grace, then releases the rest (attempt not counted)', async () => {
    await addItems(run.ctx, 'parse', parseItems(3));
    let n = 0;
    const stops: string[] = [];
    const w = worker(async (t, ctx) => {
      n += 1;
      if (n === 1) {
        await new Promise((r) => setImmediate(r));
        return { walk_id: t.ticket_id, beats: [] };
      }
      await new Promise((r) => ctx.signal.addEventListener('abort', r, { once: true }));
      stops.push((ctx.signal.reason as WorkStopped).kind);
      throw new Error('interrupted');
    }, { concurrency: 2 });
    const released: string[] = [];
    w.on('released', (job) => released.push(job.ticket.ticket_id));
    const done = w.run();
    await waitFor(() => n >= 3, 5000, 'three handlers started');
    const summary = await w.close({ grace: 50 });
    await done;
    expect(stops).toEqual(['shutdown', 'shutdown']);
    expect(summary).toMatchObject({ done: 1, released: 2, failed: 0, retried: 0 });
    for (const id of released) expect((await readTicketFile(stateFile(run.ctx, 'pending', 'parse', id))).attempts).toBe(0);
    expect(await files('pending')).toHaveLength(2);
  });

  it('close({force}) aborts killSignal at once; a handler that never settles is given up on after abandonAfter', async () => {
    await addItems(run.ctx, 'parse', parseItems(1));
    const g = gate();
    const w = worker(g.handler, { abandonAfter: 20 });
    const done = w.run();
    await waitFor(() => g.contexts.length === 1, 5000, 'started');
    const summary = await w.close({ force: true });
    await done;
    expect(g.contexts[0]?.killSignal.aborted).toBe(true);
    expect(summary.released).toBe(1);
    expect(await files('pending')).toHaveLength(1);
  });
});
