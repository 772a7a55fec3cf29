import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimTickets } from '../../../src/core/ops/claim-tickets.js';
import { addTickets, itemsOf } from '../../../src/core/ops/add-tickets.js';
import { pauseRun } from '../../../src/core/ops/pause-run.js';
import { isTqError } from '../../../src/core/model/errors.js';
import { addItems, makeRun, parseItems, type TestRun } from '../../helpers/make-run.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';
import { expectFsckOk, ls, pendingDir, readTicketFile } from '../../helpers/ticket-files.js';

let root: string;
let run: TestRun;
beforeEach(async () => {
  root = await makeTempDir('tq-claim-many-');
  run = await makeRun(root);
});
afterEach(async () => {
  await removeDir(root);
});

const claimedDir = (worker: string): string => join(run.ctx.paths.dir, 'claimed', worker);

describe('claimTickets', () => {
  it('claims exactly max tickets when more are pending, each stamped as a single claim stamps it', async () => {
    const ids = await addItems(run.ctx, 'parse', parseItems(30));
    const got = await claimTickets(run.ctx, { stage: 'parse', workerId: 'w1', max: 20 });
    expect(got).toHaveLength(20);
    const claimedIds = got.map((r) => r.ticket.ticket_id);
    expect(new Set(claimedIds).size).toBe(20);
    for (const r of got) {
      expect(ids).toContain(r.ticket.ticket_id);
      expect(r.ticket.status).toBe('claimed');
      expect(r.ticket.claim?.worker_id).toBe('w1');
      expect(r.ticket.claim?.token).toBe(`${r.ticket.ticket_id}#1`);
      expect(await readTicketFile(r.path)).toEqual(r.ticket);
    }
    expect((await ls(claimedDir('w1'))).sort()).toEqual(claimedIds.map((id) => `${id}.json`).sort());
    expect(await ls(pendingDir(run.ctx, 'parse'))).toHaveLength(10);
    await expectFsckOk(run.ctx);
  });

  it('takes what there is when fewer than max are pending, then answers an empty list (not an error)', async () => {
    await addItems(run.ctx, 'parse', parseItems(3));
    expect(await claimTickets(run.ctx, { stage: 'parse', workerId: 'w1', max: 10 })).toHaveLength(3);
    expect(await claimTickets(run.ctx, { stage: 'parse', workerId: 'w1', max: 10 })).toEqual([]);
    // A stage nothing was ever added to: empty as well.
    expect(await claimTickets(run.ctx, { stage: 'translate', workerId: 'w1', max: 10 })).toEqual([]);
  });

  it('max 1 claims one ticket', async () => {
    await addItems(run.ctx, 'parse', parseItems(3));
    expect(await claimTickets(run.ctx, { stage: 'parse', workerId: 'w1', max: 1 })).toHaveLength(1);
    expect(await ls(pendingDir(run.ctx, 'parse'))).toHaveLength(2);
  });

  it('takes the lanes in priority order, higher first, across lanes until max', async () => {
    await addTickets(run.ctx, 'parse', itemsOf(parseItems(4).map((it) => ({ ...it, id: `low-${String(it.id)}` }))), { priority: -5 });
    const high = (await addTickets(run.ctx, 'parse', itemsOf(parseItems(3).map((it) => ({ ...it, id: `high-${String(it.id)}` }))), { priority: 5 })).ticket_ids;
    const got = await claimTickets(run.ctx, { stage: 'parse', workerId: 'w1', max: 5 });
    expect(got).toHaveLength(5);
    const ids = got.map((r) => r.ticket.ticket_id);
    for (const id of high) expect(ids).toContain(id);
    await expectFsckOk(run.ctx);
  });

  it('refuses a max that is not a whole number from 1 to 1000, before claiming anything', async () => {
    await addItems(run.ctx, 'parse', parseItems(2));
    for (const max of [0, -1, 1.5, 1001, Number.NaN]) {
      const err = await claimTickets(run.ctx, { stage: 'parse', workerId: 'w1', max }).catch((e: unknown) => e);
      expect(isTqError(err, 'USAGE'), String(max)).toBe(true);
    }
    expect(await ls(pendingDir(run.ctx, 'parse'))).toHaveLength(2);
  });

  it('answers PAUSED for a paused stage, as claimTicket does', async () => {
    await addItems(run.ctx, 'parse', parseItems(2));
    await pauseRun(run.ctx, { stage: 'parse' });
    const err = await claimTickets(run.ctx, { stage: 'parse', workerId: 'w1', max: 5 }).catch((e: unknown) => e);
    expect(isTqError(err, 'PAUSED')).toBe(true);
    expect(await ls(pendingDir(run.ctx, 'parse'))).toHaveLength(2);
  });

  it('two batches claiming at once from one context never take the same ticket', async () => {
    await addItems(run.ctx, 'parse', parseItems(60));
    const [a, b] = await Promise.all([claimTickets(run.ctx, { stage: 'parse', workerId: 'w1', max: 40 }), claimTickets(run.ctx, { stage: 'parse', workerId: 'w2', max: 40 })]);
    const all = [...a, ...b].map((r) => r.ticket.ticket_id);
    expect(all).toHaveLength(60);
    expect(new Set(all).size).toBe(60);
    await expectFsckOk(run.ctx);
  });
});
