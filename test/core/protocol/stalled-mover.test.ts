/**
 * Regression (found by the torture suite on an overloaded machine): a mover stalled past
 * recovery's settle time must neither fail nor lose nor duplicate its ticket when recovery
 * finished or undid its move meanwhile.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodeFs, type Fs } from '../../../src/core/store/fs-layer.js';
import { openRun } from '../../../src/core/store/run-context.js';
import { claimTicket } from '../../../src/core/ops/claim-ticket.js';
import { submitTicket } from '../../../src/core/ops/submit-ticket.js';
import { recoverMoving } from '../../../src/core/protocol/recover-moving.js';
import { listTickets } from '../../../src/core/views/list-tickets.js';
import { fixedClock } from '../../../src/core/model/clock.js';
import { addItems, makeRun, parseItems, T0 } from '../../helpers/make-run.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';
import { expectFsckOk } from '../../helpers/ticket-files.js';

let root: string;
beforeEach(async () => {
  root = await makeTempDir();
});
afterEach(async () => {
  await removeDir(root);
});

/** An Fs that runs `during` once, right before the first call matching `when`. */
function stallOnce(when: (op: string, path: string) => boolean, during: () => Promise<void>): Fs {
  let fired = false;
  const wrap = <K extends keyof Fs>(op: K): Fs[K] =>
    (async (...args: unknown[]) => {
      if (!fired && when(op, String(args[0]))) {
        fired = true;
        await during();
      }
      return (nodeFs[op] as (...a: unknown[]) => Promise<unknown>)(...args);
    }) as Fs[K];
  return { ...nodeFs, rename: wrap('rename'), lstat: wrap('lstat') };
}

describe('a mover stalled past recovery', () => {
  it('after its fence: recovery finishes the move, the mover reports success', async () => {
    const { ctx } = await makeRun(root, 'stall');
    await addItems(ctx, 'parse', parseItems(1));
    const c = await claimTicket(ctx, { stage: 'parse', workerId: 'w1' });
    if (!c) throw new Error('nothing claimed');
    // Stall right after the fence (the first lstat of a .prev), while recovery runs.
    const fs = stallOnce((op, p) => op === 'lstat' && p.endsWith('.prev.json'), async () => {
      await recoverMoving(ctx, 0);
    });
    const slow = await openRun(root, 'stall', { fs, durability: 'none', clock: fixedClock(T0) });
    const r = await submitTicket(slow, { ticketId: c.ticket.ticket_id, workerId: 'w1', output: { beats: [] } });
    expect(r.ticket.status).toBe('completed');
    expect((await listTickets(ctx)).filter((t) => t.ticket_id === c.ticket.ticket_id).map((t) => t.state)).toEqual(['completed']);
    await expectFsckOk(ctx);
  });

  it('before its fence: recovery drops its draft, the mover puts the ticket back and starts over', async () => {
    const { ctx } = await makeRun(root, 'stall2');
    await addItems(ctx, 'parse', parseItems(1));
    const c = await claimTicket(ctx, { stage: 'parse', workerId: 'w1' });
    if (!c) throw new Error('nothing claimed');
    // Stall right before the fence (the rename of the source into moving/), while recovery runs:
    // it sees a lone .next whose ticket is still in claimed/, and drops it.
    const fs = stallOnce((op, p) => op === 'rename' && p.includes('/claimed/w1/'), async () => {
      await recoverMoving(ctx, 0);
    });
    const slow = await openRun(root, 'stall2', { fs, durability: 'none', clock: fixedClock(T0) });
    const r = await submitTicket(slow, { ticketId: c.ticket.ticket_id, workerId: 'w1', output: { beats: [] } });
    expect(r.ticket.status).toBe('completed');
    expect((await listTickets(ctx)).filter((t) => t.ticket_id === c.ticket.ticket_id).map((t) => t.state)).toEqual(['completed']);
    await recoverMoving(ctx, 0);
    await expectFsckOk(ctx);
  });
});
