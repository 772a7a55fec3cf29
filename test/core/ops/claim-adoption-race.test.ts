/**
 * Regression (found by the torture suite): a claimer stamping its fresh claim while a reaper
 * adopts the same unstamped claim. The stamp used to be a plain rename over the file: it
 * recreated the ticket while the reaper held it in moving/, the claimer submitted it, and the
 * reaper's commit then resurrected a second copy in claimed/.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodeFs, type Fs } from '../../../src/core/store/fs-layer.js';
import { openRun, type RunCtx } from '../../../src/core/store/run-context.js';
import { claimTicket } from '../../../src/core/ops/claim-ticket.js';
import { reapExpired } from '../../../src/core/ops/reap-claims.js';
import { submitTicket } from '../../../src/core/ops/submit-ticket.js';
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

function gate(): { wait: Promise<void>; open: () => void } {
  let open: () => void = () => undefined;
  const wait = new Promise<void>((r) => {
    open = r;
  });
  return { wait, open };
}

describe('claim stamp vs a reaper adopting the same unstamped claim', () => {
  it('the reaper fences between the claimer\'s read and its stamp: one ticket, in one state', async () => {
    const { ctx } = await makeRun(root, 'race');
    await addItems(ctx, 'parse', parseItems(1));
    const reaperFenced = gate();
    const reaperGo = gate();
    let reaper: Promise<unknown> | undefined;
    // The reaper pauses right after its fence (its first lstat of moving/*.prev.json).
    const reaperFs: Fs = {
      ...nodeFs,
      lstat: async (p) => {
        if (p.includes('/moving/') && p.endsWith('.prev.json')) {
          reaperFenced.open();
          await reaperGo.wait;
        }
        return nodeFs.lstat(p);
      },
    };
    const reaperCtx = await openRun(root, 'race', { fs: reaperFs, durability: 'none', clock: fixedClock(T0) });
    // The claimer: once it has read its freshly claimed (unstamped) file, let the reaper fence.
    let armed = true;
    const claimerFs: Fs = {
      ...nodeFs,
      readFile: async (p) => {
        const text = await nodeFs.readFile(p);
        if (armed && p.includes('/claimed/w1/')) {
          armed = false;
          reaper = reapExpired(reaperCtx);
          await reaperFenced.wait;
        }
        return text;
      },
    };
    const claimerCtx: RunCtx = await openRun(root, 'race', { fs: claimerFs, durability: 'none', clock: fixedClock(T0) });
    // The claimer runs into the reaper's in-flight move; only after it has claimed and submitted
    // does the paused reaper go on (a reaper stalled mid-move, as on an overloaded machine).
    const c = await claimTicket(claimerCtx, { stage: 'parse', workerId: 'w1' });
    if (!c?.ticket.claim) throw new Error('nothing claimed');
    await submitTicket(ctx, { ticketId: c.ticket.ticket_id, workerId: 'w1', output: { beats: [] }, token: c.ticket.claim.token });
    reaperGo.open();
    // The stalled reaper may report that its move was overtaken; it must not resurrect the ticket.
    await reaper?.catch(() => undefined);
    const copies = (await listTickets(ctx)).filter((t) => t.ticket_id === c.ticket.ticket_id);
    expect(copies.map((t) => t.state)).toEqual(['completed']);
    await expectFsckOk(ctx);
  });
});
