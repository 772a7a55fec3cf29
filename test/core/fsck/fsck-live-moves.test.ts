/**
 * Regression (found by the torture suite): `tq fsck --repair` running while workers move
 * tickets. Its directory listings are taken one after another, so a ticket moving meanwhile
 * can be missed by all of them (it looked lost, and was restored: a second copy) or seen twice.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodeFs, type Fs } from '../../../src/core/store/fs-layer.js';
import { openRun } from '../../../src/core/store/run-context.js';
import { claimTicket } from '../../../src/core/ops/claim-ticket.js';
import { submitTicket } from '../../../src/core/ops/submit-ticket.js';
import { requeueTicket } from '../../../src/core/ops/review-moves.js';
import { fsckRun } from '../../../src/core/fsck/fsck-run.js';
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

describe('fsck --repair while tickets move', () => {
  it('a ticket moving from failed/ to pending/ to claimed/ during the census is not restored a second time', async () => {
    const { ctx } = await makeRun(root, 'live');
    await addItems(ctx, 'parse', parseItems(1));
    const c = await claimTicket(ctx, { stage: 'parse', workerId: 'w1' });
    if (!c) throw new Error('nothing claimed');
    await submitTicket(ctx, { ticketId: c.ticket.ticket_id, workerId: 'w1', output: {}, status: 'failed' });
    // Right after fsck has listed claimed/ (empty) and before it lists failed/, an operator
    // requeues the ticket and a worker claims it: no listing sees it.
    let moved = false;
    const fs: Fs = {
      ...nodeFs,
      readdir: async (p) => {
        if (!moved && p.endsWith('/completed')) {
          moved = true;
          await requeueTicket(ctx, c.ticket.ticket_id);
          await claimTicket(ctx, { stage: 'parse', workerId: 'w2' });
        }
        return nodeFs.readdir(p);
      },
    };
    const fsckCtx = await openRun(root, 'live', { fs, durability: 'none', clock: fixedClock(T0) });
    const report = await fsckRun(fsckCtx, { repair: true, settleMs: 10 });
    expect(moved).toBe(true);
    expect(report.problems.filter((p) => p.kind === 'lost')).toEqual([]);
    const copies = (await listTickets(ctx)).filter((t) => t.ticket_id === c.ticket.ticket_id);
    expect(copies.map((t) => `${t.state}:${t.worker_id ?? ''}`)).toEqual(['claimed:w2']);
    await expectFsckOk(ctx);
  });
});
