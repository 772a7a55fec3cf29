import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimTicket } from '../../../src/core/ops/claim-ticket.js';
import { MAX_STDERR_TAIL_CHARS, attemptNote, failAttempt } from '../../../src/core/ops/fail-attempt.js';
import { reapExpired } from '../../../src/core/ops/reap-claims.js';
import { releaseTicket } from '../../../src/core/ops/worker-moves.js';
import { TqError } from '../../../src/core/model/errors.js';
import { addItems, makeRun, parseItems, type TestRun } from '../../helpers/make-run.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';
import { expectFsckOk, ls, readTicketFile, stateFile } from '../../helpers/ticket-files.js';

let dir: string;
let run: TestRun;

beforeEach(async () => {
  dir = await makeTempDir('tq-fail-attempt-');
  run = await makeRun(join(dir, 'runs'));
  await addItems(run.ctx, 'parse', parseItems(1));
});
afterEach(async () => {
  await removeDir(dir);
});

async function claim(worker = 'w1'): Promise<{ id: string; token: string }> {
  const r = await claimTicket(run.ctx, { stage: 'parse', workerId: worker });
  if (!r?.ticket.claim) throw new Error('nothing claimed');
  return { id: r.ticket.ticket_id, token: r.ticket.claim.token };
}

describe('failAttempt (a worker tried a ticket and the try failed)', () => {
  it('returns it to pending with attempts + 1 and the error and stderr tail in its history', async () => {
    const { id, token } = await claim();
    const r = await failAttempt(run.ctx, { ticketId: id, workerId: 'w1', token, error: 'exit code 2', stderrTail: 'loading model\nboom: out of memory\n' });
    expect(r).toMatchObject({ state: 'pending', attempts: 1, maxAttempts: 3 });
    const t = await readTicketFile(stateFile(run.ctx, 'pending', 'parse', id));
    expect(t).toMatchObject({ status: 'pending', attempts: 1, claim: null });
    expect(t.history.at(-1)).toMatchObject({ event: 'attempt failed', from: 'claimed', to: 'pending', worker_id: 'w1' });
    expect(t.history.at(-1)?.note).toBe('attempt 1 of 3: exit code 2\nstderr (last lines):\nloading model\nboom: out of memory');
    expect(await ls(join(run.ctx.paths.dir, 'claimed', 'w1'))).toEqual([]);
    await expectFsckOk(run.ctx);
  });

  it('moves it to failed/ with an error concern when the attempt was its last (max_attempts 3)', async () => {
    for (let i = 1; i <= 3; i += 1) {
      const { id, token } = await claim();
      const r = await failAttempt(run.ctx, { ticketId: id, workerId: 'w1', token, error: `exit code ${i}` });
      expect(r.state).toBe(i < 3 ? 'pending' : 'failed');
    }
    const [name] = await ls(join(run.ctx.paths.dir, 'failed', 'parse'));
    const t = await readTicketFile(join(run.ctx.paths.dir, 'failed', 'parse', name as string));
    expect(t).toMatchObject({ status: 'failed', attempts: 3 });
    expect(t.worker_concerns).toEqual([expect.objectContaining({ level: 'error', message: 'gave up after 3 attempts; the last one failed: exit code 3', worker_id: 'w1' })]);
    expect(t.history.filter((h) => h.event === 'attempt failed').map((h) => h.to)).toEqual(['pending', 'pending', 'failed']);
    await expectFsckOk(run.ctx);
  });

  it('counts attempts with expired claims: one reap and two failures end in failed/', async () => {
    await claim();
    run.clock.advance(11 * 60_000);
    expect((await reapExpired(run.ctx)).map((a) => a.action)).toEqual(['requeued']);
    for (const expected of ['pending', 'failed']) {
      const { id, token } = await claim();
      expect((await failAttempt(run.ctx, { ticketId: id, workerId: 'w1', token, error: 'exit code 1' })).state).toBe(expected);
    }
  });

  it('is fenced: NOT_HOLDER for a worker that never held it, LEASE_LOST once its claim was released', async () => {
    const { id, token } = await claim();
    await expect(failAttempt(run.ctx, { ticketId: id, workerId: 'w2', error: 'x' })).rejects.toMatchObject({ code: 'NOT_HOLDER' });
    await releaseTicket(run.ctx, { ticketId: id, workerId: 'w1', token });
    const err = await failAttempt(run.ctx, { ticketId: id, workerId: 'w1', token, error: 'exit code 1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TqError);
    expect((err as TqError).code).toBe('LEASE_LOST');
    expect((err as TqError).message).toMatch(/cannot record a failed attempt of/);
    const again = await claim('w2');
    await expect(failAttempt(run.ctx, { ticketId: again.id, workerId: 'w1', error: 'x' })).rejects.toMatchObject({ code: 'LEASE_LOST' });
    const t = await readTicketFile(stateFile(run.ctx, 'claimed', 'w2', id));
    expect(t.attempts).toBe(0);
  });

  it('keeps only the end of a long stderr, starting at a line', () => {
    const long = Array.from({ length: 500 }, (_, i) => `line ${i} ${'x'.repeat(20)}`).join('\n');
    const note = attemptNote('exit code 1', long);
    const tail = note.split('stderr (last lines):\n')[1] as string;
    expect(tail.length).toBeLessThanOrEqual(MAX_STDERR_TAIL_CHARS);
    expect(tail.startsWith('line ')).toBe(true);
    expect(tail.endsWith('line 499 xxxxxxxxxxxxxxxxxxxx')).toBe(true);
    expect(attemptNote('exit code 1', '   \n')).toBe('exit code 1');
  });
});
