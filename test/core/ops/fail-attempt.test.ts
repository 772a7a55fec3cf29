import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimTicket } from '../../../src/core/ops/claim-ticket.js';
import { failAttempt, MAX_ATTEMPT_ERRORS, MAX_STDERR_TAIL_CHARS, stderrTailOf } from '../../../src/core/ops/fail-attempt.js';
import { releaseTicket } from '../../../src/core/ops/worker-moves.js';
import { reapExpired } from '../../../src/core/ops/reap-claims.js';
import { isTqError } from '../../../src/core/model/errors.js';
import { runStatus } from '../../../src/core/views/list-tickets.js';
import { addItems, examplePipeline, makeRun, parseItems, T0, type TestRun } from '../../helpers/make-run.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';
import { expectFsckOk, ls, pendingDir, readTicketFile } from '../../helpers/ticket-files.js';

const SEC = 1000;
let root: string;
let run: TestRun;

/** parse: 4 attempts, retried after 30s, 60s, 120s ... at most 100s. */
function retryPipeline(): unknown {
  const p = examplePipeline() as { stages: Record<string, Record<string, unknown>> };
  p.stages.parse = { ...p.stages.parse, max_attempts: 4, retry: { backoff: 'exponential', delay: '30s', max: '100s' } };
  return p;
}

beforeEach(async () => {
  root = await makeTempDir();
  run = await makeRun(root, 'demo', retryPipeline());
});
afterEach(async () => {
  await removeDir(root);
});

async function claim(worker = 'w1'): Promise<{ id: string; token: string }> {
  const r = await claimTicket(run.ctx, { stage: 'parse', workerId: worker });
  if (!r?.ticket.claim) throw new Error('nothing claimed');
  return { id: r.ticket.ticket_id, token: r.ticket.claim.token };
}

describe('failAttempt', () => {
  it('sends the ticket back to a delayed lane with attempts+1, the error and a not_before from the backoff', async () => {
    const [id] = await addItems(run.ctx, 'parse', parseItems(1));
    const c = await claim();
    const r = await failAttempt(run.ctx, c.id, { workerId: 'w1', token: c.token, error: 'exit 1: boom\nmore', stderrTail: `${'x'.repeat(MAX_STDERR_TAIL_CHARS)}TAIL` });
    expect(r).toMatchObject({ outcome: 'retrying', attempts: 1, maxAttempts: 4, not_before: new Date(Date.parse(T0) + 30 * SEC).toISOString() });
    expect(r.path).toBe(join(pendingDir(run.ctx, 'parse'), 'lanes', 'p0.due-20300101T000030Z', `${id}.json`));
    const t = await readTicketFile(r.path);
    expect(t).toMatchObject({ status: 'pending', attempts: 1, claim: null, not_before: '2030-01-01T00:00:30.000Z' });
    expect(t.attempt_errors).toEqual([{ at: T0, attempt: 1, worker_id: 'w1', error: 'exit 1: boom\nmore', stderr_tail: `${'x'.repeat(MAX_STDERR_TAIL_CHARS - 4)}TAIL` }]);
    expect(t.history.at(-1)?.note).toBe('attempt 1 of 4 failed: exit 1: boom; retried from 2030-01-01T00:00:30.000Z');
    expect(t.history.at(-1)).toMatchObject({ event: 'attempt failed', from: 'claimed', to: 'pending', worker_id: 'w1' });
    await expectFsckOk(run.ctx);
  });

  it('backs off exponentially up to max, each retry claimable only from its not_before, then ends in failed/ after max_attempts', async () => {
    const [id] = await addItems(run.ctx, 'parse', parseItems(1));
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      const c = await claim(`w${attempt}`);
      const failedAt = run.clock.now().getTime();
      const r = await failAttempt(run.ctx, c.id, { workerId: `w${attempt}`, error: `attempt ${attempt}` });
      if (r.outcome !== 'retrying') throw new Error('not retried');
      delays.push(Date.parse(r.not_before) - failedAt);
      // Not claimable a millisecond before its time, claimable at it.
      run.clock.set(new Date(Date.parse(r.not_before) - 1));
      expect(await claimTicket(run.ctx, { stage: 'parse', workerId: 'early' }), `attempt ${attempt}: claimed before not_before`).toBeNull();
      run.clock.set(r.not_before);
    }
    expect(delays).toEqual([30 * SEC, 60 * SEC, 100 * SEC]);
    const last = await claim('w4');
    expect(last.id).toBe(id);
    const r = await failAttempt(run.ctx, id as string, { workerId: 'w4', error: 'still broken' });
    expect(r).toMatchObject({ outcome: 'failed', attempts: 4, maxAttempts: 4 });
    const t = await readTicketFile(join(run.ctx.paths.dir, 'failed', 'parse', `${id}.json`));
    expect(t.status).toBe('failed');
    expect(t.attempt_errors?.map((e) => e.error)).toEqual(['attempt 1', 'attempt 2', 'attempt 3', 'still broken']);
    expect(t.worker_concerns.at(-1)).toMatchObject({ level: 'error', message: 'gave up after 4 attempts; the last one failed: still broken', worker_id: 'w4' });
    expect(t.history.filter((h) => h.event === 'attempt failed').map((h) => h.to)).toEqual(['pending', 'pending', 'pending', 'failed']);
    expect((await runStatus(run.ctx)).counts.parse).toMatchObject({ pending: 0, claimed: 0, failed: 1 });
    await expectFsckOk(run.ctx);
  });

  it('keeps only the newest attempt errors', async () => {
    const pipeline = retryPipeline() as { stages: Record<string, Record<string, unknown>> };
    pipeline.stages.parse = { max_attempts: 20 };
    await removeDir(root);
    root = await makeTempDir();
    run = await makeRun(root, 'demo', pipeline);
    await addItems(run.ctx, 'parse', parseItems(1));
    let path = '';
    for (let i = 1; i <= MAX_ATTEMPT_ERRORS + 2; i += 1) {
      const c = await claim();
      // No retry policy: back at once, in pending/parse/ itself.
      const r = await failAttempt(run.ctx, c.id, { workerId: 'w1', error: `e${i}` });
      expect(r).toMatchObject({ outcome: 'retrying', not_before: T0 });
      path = r.path;
    }
    expect(path).toBe(join(pendingDir(run.ctx, 'parse'), `${(await ls(pendingDir(run.ctx, 'parse')))[0]}`));
    const t = await readTicketFile(path);
    expect(t.attempt_errors?.map((e) => e.error)).toEqual(['e3', 'e4', 'e5', 'e6', 'e7']);
    expect(t.not_before).toBeUndefined();
  });

  it('is fenced: refused after a reap (LEASE_LOST), for another holder (NOT_HOLDER), with an old token (LEASE_LOST)', async () => {
    await addItems(run.ctx, 'parse', parseItems(2));
    const c = await claim('w1');
    await expect(failAttempt(run.ctx, c.id, { workerId: 'w2', error: 'not mine' })).rejects.toSatisfy((e) => isTqError(e, 'NOT_HOLDER'));
    await expect(failAttempt(run.ctx, c.id, { workerId: 'w1', token: `${c.id}#7`, error: 'old claim' })).rejects.toSatisfy((e) => isTqError(e, 'LEASE_LOST'));
    run.clock.advance(10 * 60 * SEC);
    expect(await reapExpired(run.ctx)).toEqual([expect.objectContaining({ ticket_id: c.id, action: 'requeued' })]);
    await expect(failAttempt(run.ctx, c.id, { workerId: 'w1', token: c.token, error: 'too late' })).rejects.toSatisfy(
      (e) => isTqError(e, 'LEASE_LOST') && /cannot record a failed attempt of/.test(e.message),
    );
    await expectFsckOk(run.ctx);
  });

  it('is fenced after a release, and against a new holder: the attempt is not counted', async () => {
    await addItems(run.ctx, 'parse', parseItems(1));
    const c = await claim('w1');
    await releaseTicket(run.ctx, { ticketId: c.id, workerId: 'w1', token: c.token });
    await expect(failAttempt(run.ctx, c.id, { workerId: 'w1', token: c.token, error: 'exit code 1' })).rejects.toSatisfy((e) => isTqError(e, 'LEASE_LOST'));
    const again = await claim('w2');
    expect(again.id).toBe(c.id);
    await expect(failAttempt(run.ctx, c.id, { workerId: 'w1', error: 'x' })).rejects.toSatisfy((e) => isTqError(e, 'LEASE_LOST'));
    expect((await readTicketFile(join(run.ctx.paths.dir, 'claimed', 'w2', `${c.id}.json`))).attempts).toBe(0);
  });

  it('counts attempts with expired claims: three reaps or failures in any mix end in failed/', async () => {
    const pipeline = retryPipeline() as { stages: Record<string, Record<string, unknown>> };
    pipeline.stages.parse = { lease: '10m', max_attempts: 3 };
    await removeDir(root);
    root = await makeTempDir();
    run = await makeRun(root, 'demo', pipeline);
    await addItems(run.ctx, 'parse', parseItems(1));
    await claim();
    run.clock.advance(11 * 60 * SEC);
    expect((await reapExpired(run.ctx)).map((a) => a.action)).toEqual(['requeued']);
    for (const expected of ['retrying', 'failed']) {
      const c = await claim();
      expect((await failAttempt(run.ctx, c.id, { workerId: 'w1', token: c.token, error: 'exit code 1' })).outcome).toBe(expected);
    }
  });

  it('an error without a message still fails the attempt; a long stderr keeps its end, from a line start', async () => {
    await addItems(run.ctx, 'parse', parseItems(1));
    const c = await claim();
    const r = await failAttempt(run.ctx, c.id, { workerId: 'w1', error: '  ', stderrTail: '   \n' });
    expect(r.ticket.attempt_errors?.[0]).toEqual({ at: T0, attempt: 1, worker_id: 'w1', error: 'failed (no error message)' });
    const long = Array.from({ length: 500 }, (_, i) => `line ${i} ${'x'.repeat(20)}`).join('\n');
    const tail = stderrTailOf(long) as string;
    expect(tail.length).toBeLessThanOrEqual(MAX_STDERR_TAIL_CHARS);
    expect(tail.startsWith('line ')).toBe(true);
    expect(tail.endsWith('line 499 xxxxxxxxxxxxxxxxxxxx')).toBe(true);
  });

  it('a reaped (expired) claim waits out the same backoff', async () => {
    await addItems(run.ctx, 'parse', parseItems(1));
    const c = await claim('w1');
    run.clock.advance(10 * 60 * SEC);
    const [action] = await reapExpired(run.ctx);
    expect(action?.note).toMatch(/retried from 2030-01-01T00:10:30.000Z/);
    expect(await claimTicket(run.ctx, { stage: 'parse', workerId: 'w2' })).toBeNull();
    run.clock.advance(30 * SEC);
    expect((await claimTicket(run.ctx, { stage: 'parse', workerId: 'w2' }))?.ticket.ticket_id).toBe(c.id);
    await expectFsckOk(run.ctx);
  });
});
