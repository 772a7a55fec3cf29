import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimTicket } from '../../../src/core/ops/claim-ticket.js';
import { submitTicket } from '../../../src/core/ops/submit-ticket.js';
import { approveTicket, requeueTicket } from '../../../src/core/ops/review-moves.js';
import { isTqError } from '../../../src/core/model/errors.js';
import type { RunCtx } from '../../../src/core/store/run-context.js';
import { addItems, makeRun, parseItems } from '../../helpers/make-run.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';
import { expectFsckOk, ls, readTicketFile } from '../../helpers/ticket-files.js';

let root: string;
let ctx: RunCtx;
beforeEach(async () => {
  root = await makeTempDir();
  ctx = (await makeRun(root)).ctx;
});
afterEach(async () => {
  await removeDir(root);
});

async function submitAs(status: 'completed' | 'needs_review' | 'failed'): Promise<string> {
  const c = await claimTicket(ctx, { stage: 'parse', workerId: 'w1' });
  if (!c) throw new Error('nothing claimed');
  await submitTicket(ctx, { ticketId: c.ticket.ticket_id, workerId: 'w1', output: { x: 1 }, status });
  return c.ticket.ticket_id;
}

const wrongState = (e: unknown): boolean => isTqError(e, 'WRONG_STATE');

describe('approveTicket', () => {
  it('needs_review -> completed, then cascades', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    const id = await submitAs('needs_review');
    const r = await approveTicket(ctx, id, 'looks fine');
    expect(r.ticket.status).toBe('completed');
    expect(r.cascade?.created).toHaveLength(1);
    expect((await readTicketFile(r.path)).history.at(-1)).toMatchObject({ event: 'approved', note: 'looks fine' });
    await expectFsckOk(ctx);
  });

  it('refuses tickets in any other state with WRONG_STATE', async () => {
    await addItems(ctx, 'parse', parseItems(4));
    const claimed = (await claimTicket(ctx, { stage: 'parse', workerId: 'w9' }))?.ticket.ticket_id as string;
    const completed = await submitAs('completed');
    const failed = await submitAs('failed');
    for (const id of [claimed, completed, failed]) await expect(approveTicket(ctx, id)).rejects.toSatisfy(wrongState);
    const remaining = (await ls(`${ctx.paths.dir}/pending/parse`)).map((n) => n.slice(0, -5));
    expect(remaining).toHaveLength(1);
    await expect(approveTicket(ctx, remaining[0] as string)).rejects.toSatisfy(wrongState);
    await expect(approveTicket(ctx, 'parse-does-not-exist')).rejects.toSatisfy((e) => isTqError(e, 'NOT_FOUND'));
  });
});

describe('requeueTicket', () => {
  it('failed or needs_review -> pending with fresh attempts', async () => {
    await addItems(ctx, 'parse', parseItems(2));
    const f = await submitAs('failed');
    const n = await submitAs('needs_review');
    const rf = await requeueTicket(ctx, f, 'retry');
    const rn = await requeueTicket(ctx, n);
    expect([rf.from, rn.from]).toEqual(['failed', 'needs_review']);
    for (const r of [rf, rn]) {
      expect(r.ticket).toMatchObject({ status: 'pending', claim: null, attempts: 0, completed_at: null });
    }
    expect(await ls(`${ctx.paths.dir}/pending/parse`)).toHaveLength(2);
    await expectFsckOk(ctx);
  });

  it('refuses pending, claimed and completed tickets with WRONG_STATE', async () => {
    await addItems(ctx, 'parse', parseItems(3));
    const completed = await submitAs('completed');
    const claimed = (await claimTicket(ctx, { stage: 'parse', workerId: 'w9' }))?.ticket.ticket_id as string;
    const pending = (await ls(`${ctx.paths.dir}/pending/parse`))[0]?.slice(0, -5) as string;
    for (const id of [completed, claimed, pending]) await expect(requeueTicket(ctx, id)).rejects.toSatisfy(wrongState);
    try {
      await requeueTicket(ctx, claimed);
    } catch (err) {
      expect(isTqError(err) && err.hint).toMatch(/release/);
    }
  });
});
