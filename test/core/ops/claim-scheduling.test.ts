import { mkdir, readdir, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimTicket } from '../../../src/core/ops/claim-ticket.js';
import { addTickets, itemsOf } from '../../../src/core/ops/add-tickets.js';
import { releaseTicket } from '../../../src/core/ops/worker-moves.js';
import { submitTicket } from '../../../src/core/ops/submit-ticket.js';
import { failAttempt } from '../../../src/core/ops/fail-attempt.js';
import { requeueTicket } from '../../../src/core/ops/review-moves.js';
import { quarantineAndRestore } from '../../../src/core/ops/restore-ticket.js';
import { recoverMoving } from '../../../src/core/protocol/recover-moving.js';
import { locateTicket } from '../../../src/core/protocol/locate-ticket.js';
import { fsckRun } from '../../../src/core/fsck/fsck-run.js';
import { listTickets, runStatus } from '../../../src/core/views/list-tickets.js';
import { showTicket } from '../../../src/core/views/show-ticket.js';
import { isTqError } from '../../../src/core/model/errors.js';
import { addItems, examplePipeline, makeRun, reopen, type TestRun } from '../../helpers/make-run.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';
import { expectFsckOk, ls, pendingDir, readTicketFile } from '../../helpers/ticket-files.js';
import { waitFor } from '../../helpers/wait-for.js';

const MIN = 60_000;

let made = 0;
/** n parse items no other call made (tq add adds an item once: its id is its key). */
function freshItems(n: number): { id: string; text: string }[] {
  return Array.from({ length: n }, () => ({ id: `i${(made += 1)}`, text: `line ${made}` }));
}
let root: string;
let run: TestRun;
beforeEach(async () => {
  root = await makeTempDir();
  run = await makeRun(root);
});
afterEach(async () => {
  await removeDir(root);
});

function lanesDir(stage = 'parse'): string {
  return join(pendingDir(run.ctx, stage), 'lanes');
}

async function claimId(worker = 'w1', stage = 'parse'): Promise<string | undefined> {
  return (await claimTicket(run.ctx, { stage, workerId: worker }))?.ticket.ticket_id;
}

describe('priorities', () => {
  it('with 1,000 low and 10 high pending, the first 10 claims are the high ones', async () => {
    const low = await addItems(run.ctx, 'parse', freshItems(1000));
    const high = (await addTickets(run.ctx, 'parse', itemsOf(freshItems(10)), { priority: 5 })).ticket_ids;
    expect(await ls(lanesDir())).toEqual(['p5']);
    const first: string[] = [];
    for (let i = 0; i < 10; i += 1) first.push((await claimId(`w${i}`)) as string);
    expect(first.sort()).toEqual([...high].sort());
    // The drained lane goes away; the next claim is a priority-0 ticket from pending/parse/ itself.
    expect(low).toContain(await claimId('w10'));
    expect(await ls(pendingDir(run.ctx, 'parse'))).not.toContain('lanes');
    await expectFsckOk(run.ctx);
  });

  it('claims every priority in order, negative after the default, and a fresh context sees new lanes at once', async () => {
    const add = async (priority: number): Promise<string> => (await addTickets(run.ctx, 'parse', itemsOf(freshItems(1)), { priority })).ticket_ids[0] as string;
    const lowest = await add(-3);
    const normal = await add(0);
    const top = await add(1000);
    const mid = await add(2);
    expect(await claimId()).toBe(top);
    const other = await reopen(run.ctx, run.clock);
    const urgent = await add(7);
    expect((await claimTicket(other, { stage: 'parse', workerId: 'w2' }))?.ticket.ticket_id).toBe(urgent);
    expect([await claimId(), await claimId(), await claimId(), await claimId()]).toEqual([mid, normal, lowest, undefined]);
  });

  it('a long-running claimer sees a lane another process made within LANES_RELIST_MS', async () => {
    await addItems(run.ctx, 'parse', freshItems(200));
    const worker = await reopen(run.ctx, run.clock);
    expect(await claimTicket(worker, { stage: 'parse', workerId: 'w1' })).not.toBeNull();
    const [urgent] = (await addTickets(run.ctx, 'parse', itemsOf(freshItems(1)), { priority: 9 })).ticket_ids;
    let claims = 0;
    // Polled, not slept: within 100 ms the claimer lists lanes/ again and takes the urgent one.
    await waitFor(async () => {
      claims += 1;
      return (await claimTicket(worker, { stage: 'parse', workerId: 'w1' }))?.ticket.ticket_id === urgent;
    }, 2000, 'the urgent ticket to be claimed');
    expect(claims).toBeLessThan(200);
  });

  it('keeps its priority through a release and a failed attempt, and passes it to cascaded children', async () => {
    const [id] = (await addTickets(run.ctx, 'parse', itemsOf(freshItems(1)), { priority: 4 })).ticket_ids as [string];
    await claimId();
    const released = await releaseTicket(run.ctx, { ticketId: id, workerId: 'w1' });
    expect(released.path).toBe(join(lanesDir(), 'p4', `${id}.json`));
    await claimId();
    const failed = await failAttempt(run.ctx, id, { workerId: 'w1', error: 'flaky' });
    expect(failed.path).toBe(join(lanesDir(), 'p4', `${id}.json`));
    await claimId();
    const r = await submitTicket(run.ctx, { ticketId: id, workerId: 'w1', output: { text: 'x' } });
    const child = r.cascade?.children[0] as string;
    expect((await locateTicket(run.ctx, child)).path).toBe(join(lanesDir('translate'), 'p4', `${child}.json`));
    expect((await showTicket(run.ctx, child)).ticket.priority).toBe(4);
    await expectFsckOk(run.ctx);
  });
});

describe('delays', () => {
  it('a delayed ticket is not claimed before its time (injected clock), and is after', async () => {
    const [later] = (await addTickets(run.ctx, 'parse', itemsOf(freshItems(1)), { delay: '10m' })).ticket_ids as [string];
    const t = (await showTicket(run.ctx, later)).ticket;
    // 10m, rounded up to a 30 s step (a twentieth of the delay at most).
    expect(t.not_before).toBe('2030-01-01T00:10:00.000Z');
    expect(await claimId()).toBeUndefined();
    run.clock.advance(10 * MIN - 1);
    expect(await claimId()).toBeUndefined();
    run.clock.advance(1);
    const r = await claimTicket(run.ctx, { stage: 'parse', workerId: 'w1' });
    expect(r?.ticket.ticket_id).toBe(later);
    // The delay is over once claimed: not_before is gone from the claimed ticket.
    expect(r?.ticket.not_before).toBeUndefined();
    // The next claim finds the lane empty and removes it (and lanes/, its last lane).
    expect(await claimId()).toBeUndefined();
    expect(await ls(pendingDir(run.ctx, 'parse'))).toEqual([]);
    await expectFsckOk(run.ctx);
  });

  it('a work item may carry not_before and priority in an envelope; a past not_before means now', async () => {
    const items = [
      { input_data: { id: 'a' }, not_before: '2030-01-01T01:00:00Z' },
      { input_data: { id: 'b' }, priority: 3, not_before: '2029-12-31T00:00:00Z' },
      { input_data: { id: 'c' }, extra: 1 },
    ];
    const [a, b, c] = (await addTickets(run.ctx, 'parse', itemsOf(items))).ticket_ids as [string, string, string];
    expect((await showTicket(run.ctx, a)).ticket).toMatchObject({ input_data: { id: 'a' }, not_before: '2030-01-01T01:00:00.000Z' });
    expect((await showTicket(run.ctx, b)).ticket).toMatchObject({ input_data: { id: 'b' }, priority: 3 });
    expect((await showTicket(run.ctx, b)).ticket.not_before).toBeUndefined();
    // Not an envelope (a key besides input_data, priority, not_before, delay): the item is the input.
    expect((await showTicket(run.ctx, c)).ticket.input_data).toEqual({ input_data: { id: 'c' }, extra: 1 });
    expect([await claimId(), await claimId(), await claimId()]).toEqual([b, c, undefined]);
    await expect(addTickets(run.ctx, 'parse', itemsOf([{ input_data: {}, priority: 1.5 }]))).rejects.toSatisfy((e) => isTqError(e, 'INVALID_INPUT') && e.message.includes('input[0]: field priority'));
    await expect(addTickets(run.ctx, 'parse', itemsOf([{ input_data: {}, not_before: 'tomorrow' }]))).rejects.toSatisfy((e) => isTqError(e, 'INVALID_INPUT'));
  });

  it('a due delayed lane is claimed before undelayed tickets of its priority, after higher priorities', async () => {
    const [plain] = await addItems(run.ctx, 'parse', freshItems(1));
    const [delayed] = (await addTickets(run.ctx, 'parse', itemsOf(freshItems(1)), { delay: '1m' })).ticket_ids;
    const [high] = (await addTickets(run.ctx, 'parse', itemsOf(freshItems(1)), { priority: 1 })).ticket_ids;
    run.clock.advance(MIN);
    expect([await claimId(), await claimId(), await claimId()]).toEqual([high, delayed, plain]);
  });

  it('counts delayed tickets apart in status and lists them with the other pending ones', async () => {
    await addItems(run.ctx, 'parse', freshItems(2));
    await addTickets(run.ctx, 'parse', itemsOf(freshItems(3)), { delay: '1h' });
    await addTickets(run.ctx, 'parse', itemsOf(freshItems(1)), { priority: 2 });
    const s = await runStatus(run.ctx);
    expect(s.counts.parse?.pending).toBe(6);
    expect(s.delayed).toEqual({ parse: 3 });
    // In the order claims take them (once due): priority 2, the delayed lane, then pending/parse/ itself.
    expect((await listTickets(run.ctx, { state: 'pending' })).map((t) => t.path.slice(pendingDir(run.ctx, 'parse').length + 1).replace(/[^/]+\.json$/, '*'))).toEqual([
      'lanes/p2/*',
      'lanes/p0.due-20300101T010000Z/*',
      'lanes/p0.due-20300101T010000Z/*',
      'lanes/p0.due-20300101T010000Z/*',
      '*',
      '*',
    ]);
    run.clock.advance(60 * MIN);
    expect((await runStatus(run.ctx)).delayed).toEqual({});
  });

  it('an operator requeue clears the backoff', async () => {
    const pipeline = examplePipeline() as { stages: Record<string, Record<string, unknown>> };
    pipeline.stages.parse = { max_attempts: 1, retry: { delay: '1h' } };
    await removeDir(root);
    root = await makeTempDir();
    run = await makeRun(root, 'demo', pipeline);
    const [id] = await addItems(run.ctx, 'parse', freshItems(1));
    await claimId();
    expect((await failAttempt(run.ctx, id as string, { workerId: 'w1', error: 'x' })).outcome).toBe('failed');
    const r = await requeueTicket(run.ctx, id as string);
    expect(r.path).toBe(join(pendingDir(run.ctx, 'parse'), `${id}.json`));
    expect(await claimId()).toBe(id);
  });
});

describe('the lanes layout is crash-safe and fsck-clean', () => {
  it('recovery finishes an interrupted move into a lane, at the lane', async () => {
    const [id] = (await addTickets(run.ctx, 'parse', itemsOf(freshItems(1)), { priority: 3 })).ticket_ids as [string];
    await claimId();
    // Simulate a crash after the fence: the mover wrote .next (the released version) and took .prev.
    const held = join(run.ctx.paths.dir, 'claimed', 'w1', `${id}.json`);
    const t = await readTicketFile(held);
    await writeFile(join(run.ctx.paths.moving, `${id}~abc123.next.json`), `${JSON.stringify({ ...t, status: 'pending', claim: null }, null, 2)}\n`);
    await rename(held, join(run.ctx.paths.moving, `${id}~abc123.prev.json`));
    const actions = await recoverMoving(run.ctx, 0);
    expect(actions).toEqual([expect.objectContaining({ ticket_id: id, action: 'finished move' })]);
    expect(await ls(join(lanesDir(), 'p3'))).toEqual([`${id}.json`]);
    await expectFsckOk(run.ctx);
  });

  it('a quarantined ticket is restored from its birth record into its own lane', async () => {
    const [id] = (await addTickets(run.ctx, 'parse', itemsOf(freshItems(1)), { priority: 9, delay: '5m' })).ticket_ids as [string];
    const lane = join(lanesDir(), 'p9.due-20300101T000500Z');
    expect(await ls(lane)).toEqual([`${id}.json`]);
    const loc = (await locateTicket(run.ctx, id)).loc;
    const r = await quarantineAndRestore(run.ctx, loc, join(lane, `${id}.json`), 'test');
    expect(r.restored).toBe(join(lane, `${id}.json`));
    await expectFsckOk(run.ctx);
  });

  it('fsck accepts lanes, reports a directory in lanes/ that is no lane, and --repair restores its tickets where claims see them', async () => {
    const [id] = (await addTickets(run.ctx, 'parse', itemsOf(freshItems(1)), { priority: 1 })).ticket_ids as [string];
    await addTickets(run.ctx, 'parse', itemsOf(freshItems(1)), { delay: '2h' });
    await expectFsckOk(run.ctx);
    await mkdir(join(lanesDir(), 'urgent'));
    await rename(join(lanesDir(), 'p1', `${id}.json`), join(lanesDir(), 'urgent', `${id}.json`));
    const report = await fsckRun(run.ctx, { settleMs: 0 });
    expect(report.problems).toEqual([expect.objectContaining({ kind: 'stray_file', file: join(lanesDir(), 'urgent') }), expect.objectContaining({ kind: 'lost', ticket_id: id })]);
    const repaired = await fsckRun(run.ctx, { repair: true, settleMs: 0 });
    expect(repaired.problems.every((p) => p.repaired !== undefined)).toBe(true);
    expect(await claimId()).toBe(id);
    await expectFsckOk(run.ctx);
  });

  it('a lane that is a symlink is never claimed through (UNSAFE_PATH) and fsck reports it', async () => {
    await addTickets(run.ctx, 'parse', itemsOf(freshItems(1)), { priority: 1 });
    const outside = join(root, 'outside');
    await mkdir(outside);
    await rename(join(lanesDir(), 'p1'), join(outside, 'p1'));
    await symlink(join(outside, 'p1'), join(lanesDir(), 'p1'));
    await expect(claimTicket(await reopen(run.ctx, run.clock), { stage: 'parse', workerId: 'w1' })).rejects.toSatisfy((e) => isTqError(e, 'UNSAFE_PATH'));
    expect(await readdir(join(outside, 'p1'))).toHaveLength(1);
    const report = await fsckRun(run.ctx, { settleMs: 0 });
    expect(report.problems.map((p) => p.kind)).toContain('symlink');
  });
});
