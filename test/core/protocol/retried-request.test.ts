/**
 * On NFS a request whose reply was lost is retried, and the retry fails although the first one
 * succeeded: a rename reports ENOENT, a link EEXIST. Every such step looks whether the target
 * holds what we put there before calling it lost (protocol/retried-request.ts). Here the call is
 * made and then reported failed (strace can only skip a call): the operation reports success,
 * with one copy of the ticket.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openRun, type RunCtx } from '../../../src/core/store/run-context.js';
import { claimTicket } from '../../../src/core/ops/claim-ticket.js';
import { submitTicket } from '../../../src/core/ops/submit-ticket.js';
import { heartbeatTicket } from '../../../src/core/ops/worker-moves.js';
import { fixedClock } from '../../../src/core/model/clock.js';
import { addItems, makeRun, parseItems, T0 } from '../../helpers/make-run.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';
import { expectFsckOk, ls } from '../../helpers/ticket-files.js';
import { copiesOf } from '../../helpers/run-invariants.js';
import { succeedThenFailFs, type FaultyFs } from '../../helpers/faulty-fs.js';
import { birthTicket } from '../../../src/core/protocol/birth-ticket.js';
import { newTicket } from '../../../src/core/model/new-ticket.js';

let root: string;
beforeEach(async () => {
  root = await makeTempDir();
});
afterEach(async () => {
  await removeDir(root);
});

async function runWith(runId: string, faulty: FaultyFs): Promise<{ ctx: RunCtx; retried: RunCtx; id: string }> {
  const { ctx } = await makeRun(root, runId);
  const [id] = await addItems(ctx, 'parse', parseItems(1));
  const retried = await openRun(root, runId, { fs: faulty.fs, durability: 'none', clock: fixedClock(T0) });
  return { ctx, retried, id: id as string };
}

describe('a request that succeeded but reported failure (NFS retried request)', () => {
  it('claim: the rename into claimed/<worker>/ reports ENOENT: the ticket is claimed, once', async () => {
    const faulty = succeedThenFailFs('rename', (from, to) => from.includes('/pending/') && to.includes('/claimed/w1/'), 'ENOENT');
    const { ctx, retried, id } = await runWith('claim', faulty);
    const c = await claimTicket(retried, { stage: 'parse', workerId: 'w1' });
    expect(faulty.fired()).toBe(true);
    expect(c?.ticket.ticket_id).toBe(id);
    expect(c?.ticket.claim?.worker_id).toBe('w1');
    expect(await copiesOf(ctx, id)).toEqual([`claimed/w1/${id}.json`]);
    await expectFsckOk(ctx);
  });

  it('submit: the fence (rename into moving/) reports ENOENT: the submit goes through, once', async () => {
    const faulty = succeedThenFailFs('rename', (from, to) => from.includes('/claimed/w1/') && to.endsWith('.prev.json'), 'ENOENT');
    const { ctx, retried, id } = await runWith('fence', faulty);
    const c = await claimTicket(ctx, { stage: 'parse', workerId: 'w1' });
    const r = await submitTicket(retried, { ticketId: id, workerId: 'w1', output: { beats: [] }, ...(c?.ticket.claim ? { token: c.ticket.claim.token } : {}) });
    expect(faulty.fired()).toBe(true);
    // One rename: the fence. (Calling it lost would wait for the move "in flight", recover it
    // (a rename putting it back) and fence again.)
    expect(faulty.calls()).toBe(1);
    expect(r).toMatchObject({ repeated: false, ticket: { status: 'completed' } });
    expect(await copiesOf(ctx, id)).toEqual([`completed/parse/${id}.json`]);
    expect(await ls(ctx.paths.moving)).toEqual([]);
    await expectFsckOk(ctx);
  });

  it('submit: the link into completed/ reports EEXIST: committed (the target holds our version), once', async () => {
    const faulty = succeedThenFailFs('link', (from, to) => from.endsWith('.next.json') && to.includes('/completed/'), 'EEXIST');
    const { ctx, retried, id } = await runWith('link', faulty);
    await claimTicket(ctx, { stage: 'parse', workerId: 'w1' });
    const r = await submitTicket(retried, { ticketId: id, workerId: 'w1', output: { beats: [] } });
    expect(faulty.fired()).toBe(true);
    expect(r).toMatchObject({ repeated: false, ticket: { status: 'completed' } });
    expect(await copiesOf(ctx, id)).toEqual([`completed/parse/${id}.json`]);
    expect(await ls(ctx.paths.moving)).toEqual([]);
    expect(await ls(ctx.paths.quarantine)).toEqual([]);
    await expectFsckOk(ctx);
  });

  it('heartbeat: the commit rename into claimed/ reports ENOENT: the lease is extended, once', async () => {
    const faulty = succeedThenFailFs('rename', (from, to) => from.endsWith('.next.json') && to.includes('/claimed/w1/'), 'ENOENT');
    const { ctx, retried, id } = await runWith('heartbeat', faulty);
    await claimTicket(ctx, { stage: 'parse', workerId: 'w1' });
    const r = await heartbeatTicket(retried, { ticketId: id, workerId: 'w1' });
    expect(faulty.fired()).toBe(true);
    expect(r.ticket.history.at(-1)?.event).toBe('heartbeat');
    expect(await copiesOf(ctx, id)).toEqual([`claimed/w1/${id}.json`]);
    expect(await ls(ctx.paths.moving)).toEqual([]);
    await expectFsckOk(ctx);
  });

  it('a refused submit puts the ticket back by link; that link reports EEXIST: put back all the same, LEASE_LOST, once', async () => {
    const faulty = succeedThenFailFs('link', (from, to) => from.endsWith('.prev.json') && to.includes('/claimed/w1/'), 'EEXIST');
    const { ctx, retried, id } = await runWith('putback', faulty);
    await claimTicket(ctx, { stage: 'parse', workerId: 'w1' });
    await expect(submitTicket(retried, { ticketId: id, workerId: 'w1', output: { beats: [] }, token: `${id}#9` })).rejects.toMatchObject({ code: 'LEASE_LOST' });
    expect(faulty.fired()).toBe(true);
    expect(await copiesOf(ctx, id)).toEqual([`claimed/w1/${id}.json`]);
    expect(await ls(ctx.paths.moving)).toEqual([]);
    await expectFsckOk(ctx);
  });

  it('birth: an EEXIST on the record is never ours, even with our exact text (another creator, same id, same millisecond): exists, once', async () => {
    const { ctx } = await makeRun(root, 'twin');
    const t = newTicket({ runId: ctx.runId, stage: 'parse', input: { id: 'w' }, now: new Date(T0), pipeline: ctx.config.pipeline });
    expect(await birthTicket(ctx, t)).toBe('created');
    await claimTicket(ctx, { stage: 'parse', workerId: 'w1' });
    expect(await birthTicket(ctx, t)).toBe('exists');
    expect(await copiesOf(ctx, t.ticket_id)).toEqual([`claimed/w1/${t.ticket_id}.json`]);
    await expectFsckOk(ctx);
  });
});
