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
  return { ...nodeFs, rename: wrap('rename'), readFile: wrap('readFile'), writeFileExclusive: wrap('writeFileExclusive'), link: wrap('link'), lstatIfExists: wrap('lstatIfExists') };
}

describe('a mover stalled past recovery', () => {
  async function submitStalledAt(runId: string, when: (op: string, path: string) => boolean): Promise<void> {
    const { ctx } = await makeRun(root, runId);
    await addItems(ctx, 'parse', parseItems(1));
    const c = await claimTicket(ctx, { stage: 'parse', workerId: 'w1' });
    if (!c) throw new Error('nothing claimed');
    let recovered: string[] = [];
    const fs = stallOnce(when, async () => {
      recovered = (await recoverMoving(ctx, 0)).map((a) => a.action);
    });
    const slow = await openRun(root, runId, { fs, durability: 'none', clock: fixedClock(T0) });
    const r = await submitTicket(slow, { ticketId: c.ticket.ticket_id, workerId: 'w1', output: { beats: [] } });
    expect(recovered.length).toBeGreaterThan(0);
    expect(r.ticket.status).toBe('completed');
    expect((await listTickets(ctx)).filter((t) => t.ticket_id === c.ticket.ticket_id).map((t) => t.state)).toEqual(['completed']);
    await recoverMoving(ctx, 0);
    await expectFsckOk(ctx);
  }

  it('after its fence, before reading what it took: recovery puts the ticket back, the mover starts over', async () => {
    // Recovery sees a lone .prev, claims it (link to the move's .next name) and publishes it.
    await submitStalledAt('stall1', (op, p) => op === 'readFile' && p.endsWith('.prev.json'));
  });

  it('after reading, before its draft: recovery puts the ticket back; the draft write fails (EEXIST), the mover starts over', async () => {
    await submitStalledAt('stall2', (op, p) => op === 'writeFileExclusive' && p.endsWith('.next.json'));
  });

  it('after its draft, before it checks its .prev: recovery finishes the move, the mover reports success', async () => {
    await submitStalledAt('stall4', (op, p) => op === 'lstatIfExists' && p.endsWith('.prev.json'));
  });

  it('after its draft, before its commit: recovery finishes the move, the mover reports success', async () => {
    await submitStalledAt('stall3', (op, p) => op === 'link' && p.endsWith('.next.json'));
  });
});
