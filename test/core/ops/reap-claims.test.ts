import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimTicket } from '../../../src/core/ops/claim-ticket.js';
import { reapExpired } from '../../../src/core/ops/reap-claims.js';
import { heartbeatTicket } from '../../../src/core/ops/worker-moves.js';
import type { RunCtx } from '../../../src/core/store/run-context.js';
import { isTqError } from '../../../src/core/model/errors.js';
import { addItems, makeRun, parseItems, T0, type TestRun } from '../../helpers/make-run.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';
import { expectFsckOk, ls, pendingDir, readTicketFile, stateFile, writeTicketFile } from '../../helpers/ticket-files.js';

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

const MIN = 60_000;

async function claimOne(worker = 'w1'): Promise<{ id: string; path: string }> {
  const r = await claimTicket(ctx, { stage: 'parse', workerId: worker });
  if (!r) throw new Error('nothing claimed');
  return { id: r.ticket.ticket_id, path: r.path };
}

describe('reapExpired', () => {
  it('leaves live leases alone (up to and excluding the expiry instant)', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    await claimOne();
    run.clock.advance(10 * MIN - 1);
    expect(await reapExpired(ctx)).toEqual([]);
  });

  it('returns an expired claim to pending with attempts+1', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    const c = await claimOne();
    run.clock.advance(10 * MIN);
    const actions = await reapExpired(ctx);
    expect(actions).toEqual([expect.objectContaining({ ticket_id: c.id, worker_id: 'w1', action: 'requeued' })]);
    const t = await readTicketFile(stateFile(ctx, 'pending', 'parse', c.id));
    expect(t.status).toBe('pending');
    expect(t.attempts).toBe(1);
    expect(t.claim).toBeNull();
    expect(t.history.at(-1)).toMatchObject({ event: 'reaped', from: 'claimed', to: 'pending' });
    expect(await ls(join(ctx.paths.dir, 'claimed', 'w1'))).toEqual([]);
    await expectFsckOk(ctx);
  });

  it('sends a ticket to failed/ once max_attempts (3 for parse) is reached', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    let last: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      await claimOne(`w${i}`);
      run.clock.advance(11 * MIN);
      last = (await reapExpired(ctx)).map((a) => a.action);
    }
    expect(last).toEqual(['failed']);
    const [failed] = await ls(join(ctx.paths.dir, 'failed', 'parse'));
    const t = await readTicketFile(join(ctx.paths.dir, 'failed', 'parse', failed as string));
    expect(t.status).toBe('failed');
    expect(t.attempts).toBe(3);
    expect(t.worker_concerns.at(-1)).toMatchObject({ level: 'error' });
    expect(await claimTicket(ctx, { stage: 'parse', workerId: 'w9' })).toBeNull();
    await expectFsckOk(ctx);
  });

  it('a heartbeat keeps the ticket from being reaped', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    const c = await claimOne();
    run.clock.advance(9 * MIN);
    await heartbeatTicket(ctx, { ticketId: c.id, workerId: 'w1' });
    run.clock.advance(9 * MIN);
    expect(await reapExpired(ctx)).toEqual([]);
  });

  it('adopts an unstamped claim (a claimer died between its rename and its stamp)', async () => {
    const [id] = await addItems(ctx, 'parse', parseItems(1));
    await mkdir(join(ctx.paths.dir, 'claimed', 'w1'), { recursive: true });
    await rename(join(pendingDir(ctx, 'parse'), `${id}.json`), stateFile(ctx, 'claimed', 'w1', id as string));
    const actions = await reapExpired(ctx);
    expect(actions).toEqual([expect.objectContaining({ ticket_id: id, action: 'adopted' })]);
    const t = await readTicketFile(stateFile(ctx, 'claimed', 'w1', id as string));
    expect(t.status).toBe('claimed');
    expect(t.claim).toMatchObject({ worker_id: 'w1', claimed_at: T0, lease_expires_at: '2030-01-01T00:10:00.000Z', token: `${id}#1` });
    // it then expires like any claim
    run.clock.advance(10 * MIN);
    expect((await reapExpired(ctx)).map((a) => a.action)).toEqual(['requeued']);
    await expectFsckOk(ctx);
  });

  it('clamps a lease implausibly far in the future', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    const c = await claimOne();
    const t = await readTicketFile(c.path);
    await writeTicketFile(c.path, { ...t, claim: { ...(t.claim as NonNullable<typeof t.claim>), lease_expires_at: '2100-01-01T00:00:00.000Z' } });
    const actions = await reapExpired(ctx);
    expect(actions.map((a) => a.action)).toEqual(['clamped']);
    const after = await readTicketFile(c.path);
    expect(after.claim?.lease_expires_at).toBe('2030-01-01T00:10:00.000Z');
    expect(after.claim?.token).toBe(t.claim?.token);
    run.clock.advance(10 * MIN);
    expect((await reapExpired(ctx)).map((a) => a.action)).toEqual(['requeued']);
  });

  it('a lease longer than the reaper trusts is refused at claim and heartbeat, not silently clamped', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    // parse lease 10m: the reaper trusts up to max(10 x 10m, 24h) = 24h
    await expect(claimTicket(ctx, { stage: 'parse', workerId: 'w1', lease: '48h' })).rejects.toSatisfy((e) => isTqError(e, 'USAGE') && e.field === 'lease');
    expect(await ls(join(ctx.paths.dir, 'claimed', 'w1'))).toEqual([]);
    const r = await claimTicket(ctx, { stage: 'parse', workerId: 'w1', lease: '23h' });
    expect(r?.ticket.claim?.lease_expires_at).toBe('2030-01-01T23:00:00.000Z');
    expect(await reapExpired(ctx)).toEqual([]); // honoured, not clamped
    await expect(heartbeatTicket(ctx, { ticketId: r?.ticket.ticket_id as string, workerId: 'w1', lease: '25h' })).rejects.toSatisfy((e) => isTqError(e, 'USAGE'));
    expect((await readTicketFile(r?.path as string)).claim?.lease_expires_at).toBe('2030-01-01T23:00:00.000Z');
  });

  it('reaps a lease stamped in 1970', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    const c = await claimOne();
    const t = await readTicketFile(c.path);
    await writeTicketFile(c.path, { ...t, claim: { ...(t.claim as NonNullable<typeof t.claim>), claimed_at: '1970-01-01T00:00:00.000Z', lease_expires_at: '1970-01-01T00:10:00.000Z' } });
    expect((await reapExpired(ctx)).map((a) => a.action)).toEqual(['requeued']);
    expect((await readTicketFile(stateFile(ctx, 'pending', 'parse', c.id))).attempts).toBe(1);
  });

  it('quarantines a corrupt claimed file instead of crashing', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    const c = await claimOne();
    await writeFile(c.path, '<<<<<<< HEAD\n{}\n=======\n{}\n>>>>>>> other\n');
    expect((await reapExpired(ctx)).map((a) => a.action)).toEqual(['quarantined']);
    expect(await ls(join(ctx.paths.dir, 'claimed', 'w1'))).toEqual([]);
  });
});
