/**
 * Issue 12, "agents are untrusted writers": a worker that edits or copies its claimed ticket
 * file (file tools only) can neither write outside the run, nor replace another ticket's
 * result, nor make two tickets of one. Each case checks the error (code, message, file, field),
 * that no ticket is lost or duplicated (its id counted across the state directories), and that
 * sentinel directories beside the run, where the edited fields point, did not change.
 */
import { cp, mkdir, readFile, rename, symlink, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimTicket } from '../../../src/core/ops/claim-ticket.js';
import { submitTicket } from '../../../src/core/ops/submit-ticket.js';
import { heartbeatTicket, releaseTicket } from '../../../src/core/ops/worker-moves.js';
import { reapExpired } from '../../../src/core/ops/reap-claims.js';
import { fsckRun } from '../../../src/core/fsck/fsck-run.js';
import { TqError } from '../../../src/core/model/errors.js';
import type { Ticket } from '../../../src/core/model/ticket-schema.js';
import type { RunCtx } from '../../../src/core/store/run-context.js';
import { addItems, makeRun, parseItems, type TestRun } from '../../helpers/make-run.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';
import { expectFsckOk, ls, readTicketFile, stateFile, writeTicketFile } from '../../helpers/ticket-files.js';
import { copiesOf, hashTree } from '../../helpers/run-invariants.js';

let dir: string;
let run: TestRun;
let ctx: RunCtx;
/** Where "../../../victim" leads from claimed/<w>/ (dir/victim) and from <state>/<stage>/ (dir/runs/victim). */
let sentinels: string[];
let before: string[];

beforeEach(async () => {
  dir = await makeTempDir('tq-hostile-');
  run = await makeRun(join(dir, 'runs'));
  ctx = run.ctx;
  sentinels = [join(dir, 'victim'), join(dir, 'runs', 'victim')];
  for (const s of sentinels) {
    await mkdir(s, { recursive: true });
    await writeFile(join(s, 'x.json'), '{"sentinel": true}\n');
  }
});
afterEach(async () => {
  await removeDir(dir);
});

async function sealSentinels(ids: string[]): Promise<void> {
  // A file under each name an escaped path could take, so an overwrite would show.
  for (const s of sentinels) for (const id of ids) await writeFile(join(s, `${id}.json`), `{"sentinel": "${id}"}\n`);
  before = await Promise.all(sentinels.map((s) => hashTree(s)));
}

async function expectSentinelsUnchanged(): Promise<void> {
  expect(await Promise.all(sentinels.map((s) => hashTree(s)))).toEqual(before);
}

async function claim(worker: string): Promise<{ id: string; path: string; ticket: Ticket }> {
  const r = await claimTicket(ctx, { stage: 'parse', workerId: worker });
  if (!r) throw new Error('nothing claimed');
  return { id: r.ticket.ticket_id, path: r.path, ticket: r.ticket };
}

async function refused(code: string, p: Promise<unknown>): Promise<TqError> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof TqError)) throw err;
    expect(err.code, err.message).toBe(code);
    return err;
  }
  throw new Error(`accepted; expected ${code}`);
}

async function rejectedOf(id: string): Promise<{ output_data: unknown; reason: string; worker_id: string }[]> {
  const names = (await ls(ctx.paths.rejected)).filter((n) => n.startsWith(`${id}~`));
  return Promise.all(names.map(async (n) => JSON.parse(await readFile(join(ctx.paths.rejected, n), 'utf8')) as { output_data: unknown; reason: string; worker_id: string }));
}

/** The .why.json files in quarantine/ for ticket file `id`.json. */
async function whysOf(id: string): Promise<{ file: string; reason: string }[]> {
  const names = (await ls(ctx.paths.quarantine)).filter((n) => n.startsWith(`${id}.json~`) && n.endsWith('.why.json'));
  return Promise.all(names.map(async (n) => JSON.parse(await readFile(join(ctx.paths.quarantine, n), 'utf8')) as { file: string; reason: string }));
}

type Op = 'submit' | 'heartbeat' | 'release';
const ops: Record<Op, (id: string, worker: string) => Promise<unknown>> = {
  submit: (id, worker) => submitTicket(ctx, { ticketId: id, workerId: worker, output: { beats: [1] } }),
  heartbeat: (id, worker) => heartbeatTicket(ctx, { ticketId: id, workerId: worker }),
  release: (id, worker) => releaseTicket(ctx, { ticketId: id, workerId: worker }),
};

const edits: [string, (t: Ticket) => Ticket][] = [
  ['ticket_id', (t) => ({ ...t, ticket_id: '../../../victim/x' })],
  ['worker_type', (t) => ({ ...t, worker_type: '../../../victim' })],
  ['claim.worker_id', (t) => ({ ...t, claim: t.claim ? { ...t.claim, worker_id: '../../../victim' } : null })],
];

describe('a worker edits its claimed ticket, then submits, heartbeats or releases', () => {
  for (const [field, edit] of edits) {
    for (const op of ['submit', 'heartbeat', 'release'] as Op[]) {
      it(`${field} = "../../../victim…", then ${op}: refused (CORRUPT_TICKET), quarantined, restored from registry/, nothing written outside the run`, async () => {
        await addItems(ctx, 'parse', parseItems(2));
        const c = await claim('w1');
        await sealSentinels([c.id, 'x']);
        await writeTicketFile(c.path, edit(c.ticket));
        const err = await refused('CORRUPT_TICKET', ops[op](c.id, 'w1'));
        expect(err.field).toBe(field);
        expect(err.message).toContain(`field ${field} is`);
        expect(err.message).toContain(c.path);
        expect(err.data?.quarantined).toBeTruthy();
        expect(err.data?.restored).toBe(stateFile(ctx, 'pending', 'parse', c.id));
        const whys = await whysOf(c.id);
        expect(whys).toHaveLength(1);
        // Relative to the run: the .why.json is part of the run, which may be cloned elsewhere.
        expect(whys[0]?.file).toBe(relative(ctx.paths.dir, c.path));
        expect(whys[0]?.reason).toContain(`field ${field}`);
        expect(await copiesOf(ctx, c.id)).toEqual([`pending/parse/${c.id}.json`]);
        expect((await readTicketFile(stateFile(ctx, 'pending', 'parse', c.id))).history.at(-1)?.event).toBe('restored from registry');
        if (op === 'submit') expect((await rejectedOf(c.id)).map((r) => r.output_data)).toEqual([{ beats: [1] }]);
        await expectSentinelsUnchanged();
        await expectFsckOk(ctx);
      });
    }
  }

  it('garbage in a claimed ticket: heartbeat refused, the file quarantined and the ticket restored', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    const c = await claim('w1');
    await writeFile(c.path, 'not json at all');
    const err = await refused('CORRUPT_TICKET', heartbeatTicket(ctx, { ticketId: c.id, workerId: 'w1' }));
    expect(err.message).toContain('not valid JSON');
    expect(await copiesOf(ctx, c.id)).toEqual([`pending/parse/${c.id}.json`]);
    await expectFsckOk(ctx);
  });
});

describe("a worker sets its claimed ticket's ticket_id to another, completed ticket's id", () => {
  async function setUp(): Promise<{ a: string; b: { id: string; path: string; ticket: Ticket }; aBytes: string }> {
    await addItems(ctx, 'parse', parseItems(2));
    const first = await claim('w1');
    await submitTicket(ctx, { ticketId: first.id, workerId: 'w1', output: { beats: ['original'] } });
    const b = await claim('w2');
    await sealSentinels([first.id, b.id]);
    return { a: first.id, b, aBytes: await readFile(stateFile(ctx, 'completed', 'parse', first.id), 'utf8') };
  }

  it('in place, then submits its own ticket: refused, the other output intact', async () => {
    const { a, b, aBytes } = await setUp();
    await writeTicketFile(b.path, { ...b.ticket, ticket_id: a });
    const err = await refused('CORRUPT_TICKET', submitTicket(ctx, { ticketId: b.id, workerId: 'w2', output: { beats: ['forged'] } }));
    expect(err.field).toBe('ticket_id');
    expect(await readFile(stateFile(ctx, 'completed', 'parse', a), 'utf8')).toBe(aBytes);
    expect(await copiesOf(ctx, a)).toEqual([`completed/parse/${a}.json`]);
    expect(await copiesOf(ctx, b.id)).toEqual([`pending/parse/${b.id}.json`]);
    expect((await rejectedOf(b.id)).map((r) => r.output_data)).toEqual([{ beats: ['forged'] }]);
    await expectSentinelsUnchanged();
    await expectFsckOk(ctx);
  });

  it("renamed to the other ticket's file name, then submits that id: ALREADY_DONE (by w1), the other output intact", async () => {
    const { a, b, aBytes } = await setUp();
    await writeTicketFile(stateFile(ctx, 'claimed', 'w2', a), { ...b.ticket, ticket_id: a });
    await rename(b.path, join(dir, 'stolen.json'));
    const err = await refused('ALREADY_DONE', submitTicket(ctx, { ticketId: a, workerId: 'w2', output: { beats: ['forged'] } }));
    expect(err.message).toContain(`ticket ${a} is already completed (by w1)`);
    expect(err.exitCode).toBe(13);
    expect(await readFile(stateFile(ctx, 'completed', 'parse', a), 'utf8')).toBe(aBytes);
    expect(await copiesOf(ctx, a)).toEqual([`completed/parse/${a}.json`]);
    expect((await rejectedOf(a)).map((r) => r.output_data)).toEqual([{ beats: ['forged'] }]);
    // The ticket whose file the agent took away is lost until fsck restores it from registry/.
    expect(await copiesOf(ctx, b.id)).toEqual([]);
    const report = await fsckRun(ctx, { repair: true, settleMs: 0 });
    expect(report.problems.filter((p) => p.kind === 'lost').map((p) => p.ticket_id)).toEqual([b.id]);
    expect(await copiesOf(ctx, b.id)).toEqual([`pending/parse/${b.id}.json`]);
    await expectSentinelsUnchanged();
    await expectFsckOk(ctx);
  });
});

describe("a worker copies its claimed ticket into a second worker's claimed/ directory", () => {
  const variants: [string, (t: Ticket) => Ticket][] = [
    ['as is', (t) => t],
    ['with claim.worker_id set to the second worker', (t) => ({ ...t, claim: t.claim ? { ...t.claim, worker_id: 'w2' } : null })],
  ];
  for (const [how, edit] of variants) {
    it(`${how}; both submit: the first result is kept, the second refused with ALREADY_DONE and kept in rejected/`, async () => {
      await addItems(ctx, 'parse', parseItems(1));
      const c = await claim('w1');
      await mkdir(join(ctx.paths.dir, 'claimed', 'w2'), { recursive: true });
      await writeTicketFile(stateFile(ctx, 'claimed', 'w2', c.id), edit(c.ticket));
      await submitTicket(ctx, { ticketId: c.id, workerId: 'w1', output: { beats: ['first'] } });
      const err = await refused('ALREADY_DONE', submitTicket(ctx, { ticketId: c.id, workerId: 'w2', output: { beats: ['second'] } }));
      expect(err.message).toContain(`ticket ${c.id} is already completed (by w1)`);
      expect(err.message).toContain('your output was kept in');
      expect(String(err.data?.rejected_path).startsWith(ctx.paths.rejected)).toBe(true);
      expect((await readTicketFile(stateFile(ctx, 'completed', 'parse', c.id))).output_data).toEqual({ beats: ['first'] });
      expect((await rejectedOf(c.id)).map((r) => r.output_data)).toEqual([{ beats: ['second'] }]);
      expect(await copiesOf(ctx, c.id)).toEqual([`completed/parse/${c.id}.json`]);
      expect(await whysOf(c.id)).toHaveLength(1);
      await expectFsckOk(ctx);
    });
  }

  it('as is; the copy submits first: NOT_HOLDER ("held by w1, not you (w2)"), then the holder submits', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    const c = await claim('w1');
    await mkdir(join(ctx.paths.dir, 'claimed', 'w2'), { recursive: true });
    await cp(c.path, stateFile(ctx, 'claimed', 'w2', c.id));
    const err = await refused('NOT_HOLDER', submitTicket(ctx, { ticketId: c.id, workerId: 'w2', output: { beats: ['copy'] } }));
    expect(err.message).toContain(`ticket ${c.id} is held by w1, not you (w2)`);
    expect(err.exitCode).toBe(12);
    expect(await copiesOf(ctx, c.id)).toEqual([`claimed/w1/${c.id}.json`]);
    await submitTicket(ctx, { ticketId: c.id, workerId: 'w1', output: { beats: ['holder'] } });
    expect(await copiesOf(ctx, c.id)).toEqual([`completed/parse/${c.id}.json`]);
    await expectFsckOk(ctx);
  });

  it('with its claim edited; the copy submits first: its result stands, the holder is refused with ALREADY_DONE (by w2)', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    const c = await claim('w1');
    await mkdir(join(ctx.paths.dir, 'claimed', 'w2'), { recursive: true });
    await writeTicketFile(stateFile(ctx, 'claimed', 'w2', c.id), { ...c.ticket, claim: { ...(c.ticket.claim as NonNullable<Ticket['claim']>), worker_id: 'w2' } });
    await submitTicket(ctx, { ticketId: c.id, workerId: 'w2', output: { beats: ['copy'] } });
    const err = await refused('ALREADY_DONE', submitTicket(ctx, { ticketId: c.id, workerId: 'w1', output: { beats: ['holder'] } }));
    expect(err.message).toContain('(by w2)');
    expect((await readTicketFile(stateFile(ctx, 'completed', 'parse', c.id))).output_data).toEqual({ beats: ['copy'] });
    expect(await copiesOf(ctx, c.id)).toEqual([`completed/parse/${c.id}.json`]);
    await expectFsckOk(ctx);
  });

  it('a planted copy whose lease expires after the ticket was finished is quarantined, never reaped into pending/', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    const c = await claim('w1');
    await mkdir(join(ctx.paths.dir, 'claimed', 'w2'), { recursive: true });
    await writeTicketFile(stateFile(ctx, 'claimed', 'w2', c.id), { ...c.ticket, claim: { ...(c.ticket.claim as NonNullable<Ticket['claim']>), worker_id: 'w2' } });
    await submitTicket(ctx, { ticketId: c.id, workerId: 'w1', output: { beats: [] } });
    run.clock.advance(11 * 60_000);
    const actions = await reapExpired(ctx);
    expect(actions).toEqual([expect.objectContaining({ ticket_id: c.id, worker_id: 'w2', action: 'quarantined' })]);
    expect(actions[0]?.note).toContain('a duplicate');
    expect(await copiesOf(ctx, c.id)).toEqual([`completed/parse/${c.id}.json`]);
    await expectFsckOk(ctx);
  });

  it('a planted copy released while the ticket is finished: ALREADY_DONE, never released into pending/', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    const c = await claim('w1');
    await mkdir(join(ctx.paths.dir, 'claimed', 'w2'), { recursive: true });
    await writeTicketFile(stateFile(ctx, 'claimed', 'w2', c.id), { ...c.ticket, claim: { ...(c.ticket.claim as NonNullable<Ticket['claim']>), worker_id: 'w2' } });
    await submitTicket(ctx, { ticketId: c.id, workerId: 'w1', output: { beats: [] } });
    await refused('ALREADY_DONE', releaseTicket(ctx, { ticketId: c.id, workerId: 'w2' }));
    expect(await copiesOf(ctx, c.id)).toEqual([`completed/parse/${c.id}.json`]);
    await expectFsckOk(ctx);
  });
});

describe('one odd entry in claimed/ never stops the reap pass', () => {
  it('a symlink, a directory named like a ticket and a worker_type "Parse" are set aside; the expired claim after them is reaped', async () => {
    const ids = await addItems(ctx, 'parse', parseItems(3));
    const odd = await claim('w0');
    const expired = await claim('w9');
    await sealSentinels(ids);
    await writeTicketFile(odd.path, { ...odd.ticket, worker_type: 'Parse' });
    await symlink(join(dir, 'victim', 'x.json'), join(ctx.paths.dir, 'claimed', 'w0', 'parse-link.json'));
    await mkdir(join(ctx.paths.dir, 'claimed', 'w0', 'parse-dir.json'));
    run.clock.advance(11 * 60_000);
    const actions = await reapExpired(ctx);
    const byId = Object.fromEntries(actions.map((a) => [a.ticket_id, a.action]));
    expect(byId).toMatchObject({ [odd.id]: 'quarantined', 'parse-link': 'quarantined', 'parse-dir': 'quarantined', [expired.id]: 'requeued' });
    expect(await copiesOf(ctx, odd.id)).toEqual([`pending/parse/${odd.id}.json`]);
    expect(await copiesOf(ctx, expired.id)).toEqual([`pending/parse/${expired.id}.json`]);
    expect(await ls(join(ctx.paths.dir, 'claimed', 'w0'))).toEqual([]);
    await expectSentinelsUnchanged();
    await expectFsckOk(ctx);
  });
});
