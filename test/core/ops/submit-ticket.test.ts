import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimTicket } from '../../../src/core/ops/claim-ticket.js';
import { submitTicket } from '../../../src/core/ops/submit-ticket.js';
import { releaseTicket } from '../../../src/core/ops/worker-moves.js';
import { reapExpired } from '../../../src/core/ops/reap-claims.js';
import { requeueTicket } from '../../../src/core/ops/review-moves.js';
import { showTicket } from '../../../src/core/views/show-ticket.js';
import { collectConcerns } from '../../../src/core/views/collect-concerns.js';
import { isTqError, type TqError } from '../../../src/core/model/errors.js';
import type { RunCtx } from '../../../src/core/store/run-context.js';
import { addItems, makeRun, parseItems, type TestRun } from '../../helpers/make-run.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';
import { expectFsckOk, ls, readTicketFile } from '../../helpers/ticket-files.js';

let root: string;
let run: TestRun;
let ctx: RunCtx;
beforeEach(async () => {
  root = await makeTempDir();
  run = await makeRun(root);
  ctx = run.ctx;
});
afterEach(async () => {
  await removeDir(root);
});

async function claimOne(worker = 'w1', stage = 'parse'): Promise<{ id: string; token: string; path: string }> {
  const r = await claimTicket(ctx, { stage, workerId: worker });
  if (!r || !r.ticket.claim) throw new Error('nothing claimed');
  return { id: r.ticket.ticket_id, token: r.ticket.claim.token, path: r.path };
}

async function leaseLost(p: Promise<unknown>): Promise<TqError> {
  try {
    await p;
  } catch (err) {
    expect(isTqError(err, 'LEASE_LOST')).toBe(true);
    return err as TqError;
  }
  throw new Error('late submit was accepted');
}

async function refusedWith(code: string, p: Promise<unknown>): Promise<TqError> {
  try {
    await p;
  } catch (err) {
    expect((err as TqError).code).toBe(code);
    return err as TqError;
  }
  throw new Error('the submit was accepted');
}

/** The late output is kept in rejected/, and both show and concerns see it. */
async function expectKept(err: TqError, id: string, message: string): Promise<void> {
  const kept = err.data?.rejected_path;
  expect(typeof kept).toBe('string');
  expect(String(kept).startsWith(ctx.paths.rejected)).toBe(true);
  const record = JSON.parse(await readFile(String(kept), 'utf8')) as { output_data: unknown; ticket_id: string };
  expect(record.ticket_id).toBe(id);
  expect(record.output_data).toEqual({ late: true });
  const view = await showTicket(ctx, id);
  expect(view.rejected_outputs.map((r) => r.path)).toContain(kept);
  const concerns = await collectConcerns(ctx);
  expect(concerns.concerns.some((c) => c.ticket_id === id && c.rejected === true && c.message === message)).toBe(true);
}

describe('submitTicket', () => {
  it('completes a claimed ticket and cascades (1:1 child)', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    const c = await claimOne();
    const r = await submitTicket(ctx, { ticketId: c.id, workerId: 'w1', output: { lines: 3 }, usage: { input_tokens: 10, model: 'm' }, concerns: [{ level: 'info', message: 'fine' }] });
    expect(r.repeated).toBe(false);
    expect(r.ticket.status).toBe('completed');
    expect(r.path).toBe(join(ctx.paths.dir, 'completed', 'parse', `${c.id}.json`));
    expect(r.ticket.worker_concerns[0]).toMatchObject({ level: 'info', message: 'fine', worker_id: 'w1' });
    expect(r.cascade?.created).toHaveLength(1);
    expect(await ls(join(ctx.paths.dir, 'claimed', 'w1'))).toEqual([]);
    await expectFsckOk(ctx);
  });

  it('a late submit after release throws LEASE_LOST and keeps the output', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    const c = await claimOne();
    await releaseTicket(ctx, { ticketId: c.id, workerId: 'w1' });
    const err = await leaseLost(submitTicket(ctx, { ticketId: c.id, workerId: 'w1', output: { late: true }, concerns: [{ level: 'review', message: 'late after release' }] }));
    expect(err.message).toContain(c.id);
    await expectKept(err, c.id, 'late after release');
    expect((await showTicket(ctx, c.id)).state).toBe('pending');
    await expectFsckOk(ctx);
  });

  it('a late submit after the reaper took the ticket throws LEASE_LOST', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    const c = await claimOne();
    run.clock.advance(11 * 60_000);
    expect((await reapExpired(ctx)).map((a) => a.action)).toEqual(['requeued']);
    const err = await leaseLost(submitTicket(ctx, { ticketId: c.id, workerId: 'w1', output: { late: true }, concerns: [{ level: 'error', message: 'late after reap' }] }));
    await expectKept(err, c.id, 'late after reap');
  });

  it('a late submit after a requeue throws LEASE_LOST', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    const c = await claimOne();
    await submitTicket(ctx, { ticketId: c.id, workerId: 'w1', output: { first: true }, status: 'needs_review' });
    await requeueTicket(ctx, c.id);
    const err = await leaseLost(submitTicket(ctx, { ticketId: c.id, workerId: 'w1', output: { late: true }, concerns: [{ level: 'info', message: 'late after requeue' }] }));
    await expectKept(err, c.id, 'late after requeue');
    expect((await showTicket(ctx, c.id)).state).toBe('pending');
  });

  it('refuses a submit whose token is from an older claim of the same worker', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    const first = await claimOne();
    run.clock.advance(11 * 60_000);
    await reapExpired(ctx);
    const second = await claimOne();
    expect(second.id).toBe(first.id);
    expect(second.token).not.toBe(first.token);
    const err = await leaseLost(submitTicket(ctx, { ticketId: first.id, workerId: 'w1', output: { late: true }, token: first.token }));
    expect(err.data?.rejected_path).toBeTruthy();
    // the current claim is untouched and can still be submitted with its own token
    expect((await readTicketFile(second.path)).claim?.token).toBe(second.token);
    const ok = await submitTicket(ctx, { ticketId: second.id, workerId: 'w1', output: { ok: 1 }, token: ` ${second.token} ` });
    expect(ok.ticket.status).toBe('completed');
  });

  it('another worker cannot submit a ticket it does not hold: NOT_HOLDER, output kept', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    const c = await claimOne('w1');
    const err = await refusedWith('NOT_HOLDER', submitTicket(ctx, { ticketId: c.id, workerId: 'w2', output: { late: true } }));
    expect(err.message).toContain(`ticket ${c.id} is held by w1, not you (w2)`);
    expect(err.exitCode).toBe(12);
    expect(String(err.data?.rejected_path).startsWith(ctx.paths.rejected)).toBe(true);
    expect((await showTicket(ctx, c.id)).state).toBe('claimed');
  });

  it('a repeated identical submit returns repeated=true and changes nothing', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    const c = await claimOne();
    const first = await submitTicket(ctx, { ticketId: c.id, workerId: 'w1', output: { a: 1 }, token: c.token });
    const again = await submitTicket(ctx, { ticketId: c.id, workerId: 'w1', output: { a: 1 }, token: c.token });
    expect(again.repeated).toBe(true);
    expect(again.ticket).toEqual(first.ticket);
    expect(again.cascade?.children).toEqual(first.cascade?.children);
    expect(await ls(ctx.paths.rejected)).toEqual([]);
    // a different output is not a repeat: the finished ticket is never replaced
    const err = await refusedWith('ALREADY_DONE', submitTicket(ctx, { ticketId: c.id, workerId: 'w1', output: { a: 2 } }));
    expect(err.message).toContain(`ticket ${c.id} is already completed (by you)`);
    expect(err.exitCode).toBe(13);
    expect((await readTicketFile(first.path)).output_data).toEqual({ a: 1 });
    await expectFsckOk(ctx);
  });

  it('validation errors leave the claim untouched', async () => {
    await addItems(ctx, 'translate', [{ text: 'bonjour' }]);
    const c = await claimOne('w1', 'translate');
    const before = await readFile(c.path, 'utf8');
    const cases: [unknown, Record<string, unknown>, string][] = [
      [['not', 'an', 'object'], {}, 'output_data'],
      [null, {}, 'output_data'],
      [{ new_nouns: 'Hexagone' }, {}, 'output_data'], // for_each must be an array
      [{ new_nouns: [{ word: 'x' }] }, {}, 'output_data'], // key missing
      [{ ok: 1 }, { concerns: [{ level: 'panic', message: 'x' }] }, 'worker_concerns'],
      [{ ok: 1 }, { usage: { input_tokens: -3 } }, 'usage'],
    ];
    for (const [output, extra, field] of cases) {
      try {
        await submitTicket(ctx, { ticketId: c.id, workerId: 'w1', output, ...extra });
        throw new Error(`accepted ${JSON.stringify(output)}`);
      } catch (err) {
        expect(isTqError(err, 'INVALID_INPUT')).toBe(true);
        expect(isTqError(err) && err.field).toBe(field);
      }
      expect(await readFile(c.path, 'utf8')).toBe(before);
    }
    await expect(submitTicket(ctx, { ticketId: c.id, workerId: 'w1', output: {}, status: 'claimed' as never })).rejects.toSatisfy((e) => isTqError(e, 'USAGE'));
    expect(await readFile(c.path, 'utf8')).toBe(before);
    expect(await ls(ctx.paths.rejected)).toEqual([]);
    expect(await ls(ctx.paths.moving)).toEqual([]);
  });

  it('needs_review and failed submits do not cascade', async () => {
    await addItems(ctx, 'parse', parseItems(2));
    const a = await claimOne();
    const b = await claimOne();
    const ra = await submitTicket(ctx, { ticketId: a.id, workerId: 'w1', output: { x: 1 }, status: 'needs_review' });
    const rb = await submitTicket(ctx, { ticketId: b.id, workerId: 'w1', output: { x: 1 }, status: 'failed' });
    expect(ra.cascade).toBeUndefined();
    expect(rb.cascade).toBeUndefined();
    expect(await ls(join(ctx.paths.dir, 'pending', 'translate'))).toEqual([]);
  });
});
