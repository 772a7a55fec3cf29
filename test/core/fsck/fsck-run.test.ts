import { copyFile, mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimTicket } from '../../../src/core/ops/claim-ticket.js';
import { submitTicket } from '../../../src/core/ops/submit-ticket.js';
import { fsckRun, type FsckReport } from '../../../src/core/fsck/fsck-run.js';
import { cascadeMarkerPath } from '../../../src/core/ops/cascade-ticket.js';
import { registryPath } from '../../../src/core/protocol/birth-ticket.js';
import { serializeTicket, withHistory } from '../../../src/core/model/serialize-ticket.js';
import { serializeBirthRecord } from '../../../src/core/model/birth-record.js';
import { newTicket } from '../../../src/core/model/new-ticket.js';
import type { RunCtx } from '../../../src/core/store/run-context.js';
import type { Ticket } from '../../../src/core/model/ticket-schema.js';
import { addItems, makeRun, parseItems, type TestRun } from '../../helpers/make-run.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';
import { expectFsckOk, ls, readTicketFile, stateFile } from '../../helpers/ticket-files.js';

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

async function claim(worker = 'w1', stage = 'parse'): Promise<Ticket> {
  const r = await claimTicket(ctx, { stage, workerId: worker });
  if (!r) throw new Error('nothing claimed');
  return r.ticket;
}

async function completeOne(): Promise<Ticket> {
  const t = await claim();
  return (await submitTicket(ctx, { ticketId: t.ticket_id, workerId: 'w1', output: { text: 'x' } })).ticket;
}

function kinds(r: FsckReport): string[] {
  return r.problems.map((p) => p.kind).sort();
}

/** Check finds the problem and fails; repair mends it; a second check is clean. */
async function detectThenRepair(expected: string[]): Promise<{ before: FsckReport; repaired: FsckReport }> {
  const before = await fsckRun(ctx);
  expect(before.ok).toBe(false);
  for (const k of expected) expect(kinds(before)).toContain(k);
  const repaired = await fsckRun(ctx, { repair: true, settleMs: 0 });
  expect(repaired.ok, JSON.stringify(repaired.problems, null, 2)).toBe(true);
  for (const p of repaired.problems) if (p.kind !== 'in_flight') expect(p.repaired, JSON.stringify(p)).toBeTruthy();
  await expectFsckOk(ctx);
  return { before, repaired };
}

async function countRegistered(): Promise<number> {
  let n = 0;
  for (const s of await ls(ctx.paths.registry)) n += (await ls(join(ctx.paths.registry, s))).length;
  return n;
}

describe('fsckRun', () => {
  it('a healthy run is ok with exact counts', async () => {
    await addItems(ctx, 'parse', parseItems(3));
    await completeOne();
    await claim('w2');
    const r = await expectFsckOk(ctx);
    expect(r.tickets).toBe(4);
    expect(r.by_state).toEqual({ pending: 2, claimed: 1, completed: 1, failed: 0, needs_review: 0 });
  });

  it('duplicate: the same ticket in two states keeps the most advanced copy', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    const done = await completeOne();
    const completedPath = stateFile(ctx, 'completed', 'parse', done.ticket_id);
    const stale = { ...done, status: 'pending' as const, claim: null, output_data: null };
    await writeFile(stateFile(ctx, 'pending', 'parse', done.ticket_id), serializeTicket(stale));
    const { before } = await detectThenRepair(['duplicate']);
    expect(before.problems.find((p) => p.kind === 'duplicate')?.file).toBe(stateFile(ctx, 'pending', 'parse', done.ticket_id));
    expect((await readTicketFile(completedPath)).status).toBe('completed');
    expect(await ls(join(ctx.paths.dir, 'pending', 'parse'))).toEqual([]);
  });

  it('lost with its children: the restored parent loses its stale cascade marker, so doing it again makes the children', async () => {
    // A commit of a busy run can hold a parent's marker and miss the completed parent and its
    // child (neither file, nor the child's birth record, was in the commit).
    await addItems(ctx, 'parse', parseItems(1));
    const done = await completeOne();
    const [child] = await ls(join(ctx.paths.dir, 'pending', 'translate'));
    expect(child).toBeDefined();
    await rm(stateFile(ctx, 'completed', 'parse', done.ticket_id));
    await rm(join(ctx.paths.dir, 'pending', 'translate', child as string));
    await rm(join(ctx.paths.registry, 'translate', child as string));
    await fsckRun(ctx, { repair: true, settleMs: 0 });
    await expect(readFile(cascadeMarkerPath(ctx, done.ticket_id), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
    await completeOne();
    expect(await ls(join(ctx.paths.dir, 'pending', 'translate'))).toEqual([child]);
    await expectFsckOk(ctx);
  });

  it('lost: a ticket missing from every state is restored from registry/', async () => {
    const [id] = await addItems(ctx, 'parse', parseItems(2));
    await rename(stateFile(ctx, 'pending', 'parse', id as string), join(root, 'elsewhere.json'));
    const { repaired } = await detectThenRepair(['lost']);
    expect(repaired.problems.find((p) => p.kind === 'lost')?.repaired).toMatch(/restored/);
    const t = await readTicketFile(stateFile(ctx, 'pending', 'parse', id as string));
    expect(t.history.at(-1)?.event).toBe('restored by fsck');
    expect((await fsckRun(ctx)).tickets).toBe(2);
  });

  it('misnamed: ticket_id differs from the file name', async () => {
    const [id] = await addItems(ctx, 'parse', parseItems(1));
    await rename(stateFile(ctx, 'pending', 'parse', id as string), stateFile(ctx, 'pending', 'parse', 'parse-typo-1'));
    const { before } = await detectThenRepair(['misnamed', 'lost']);
    expect(before.problems.find((p) => p.kind === 'misnamed')?.message).toContain('ticket_id');
    expect(await ls(join(ctx.paths.dir, 'pending', 'parse'))).toEqual([`${id}.json`]);
    expect((await ls(ctx.paths.quarantine)).some((n) => n.startsWith('parse-typo-1.json~'))).toBe(true);
  });

  it('corrupt JSON and git conflict markers are quarantined and the ticket restored', async () => {
    const [a, b] = await addItems(ctx, 'parse', parseItems(2));
    const pa = stateFile(ctx, 'pending', 'parse', a as string);
    const pb = stateFile(ctx, 'pending', 'parse', b as string);
    await writeFile(pa, '{"ticket_id": ');
    const text = await readFile(pb, 'utf8');
    await writeFile(pb, `<<<<<<< HEAD\n${text}=======\n${text}>>>>>>> branch\n`);
    const { before } = await detectThenRepair(['corrupt', 'lost']);
    const corrupt = before.problems.filter((p) => p.kind === 'corrupt');
    expect(corrupt).toHaveLength(2);
    expect(corrupt.find((p) => p.file === pb)?.message).toMatch(/git conflict markers/);
    expect((await ls(join(ctx.paths.dir, 'pending', 'parse'))).sort()).toEqual([`${a}.json`, `${b}.json`].sort());
  });

  it('editing a pending ticket in place does not touch its birth record; a damaged birth record does not stop the repair', async () => {
    const [a, b] = await addItems(ctx, 'parse', parseItems(2));
    const regA = registryPath(ctx, 'parse', a as string);
    const born = await readFile(regA, 'utf8');
    await writeFile(stateFile(ctx, 'pending', 'parse', a as string), 'garbage'); // in place, same inode
    expect(await readFile(regA, 'utf8')).toBe(born);
    // b is lost and its birth record is damaged: fsck --repair mends a, reports b, does not throw
    await rm(stateFile(ctx, 'pending', 'parse', b as string));
    await writeFile(registryPath(ctx, 'parse', b as string), '{"torn');
    const r = await fsckRun(ctx, { repair: true, settleMs: 0 });
    expect(r.ok).toBe(false);
    const lost = r.problems.filter((p) => p.kind === 'lost');
    expect(lost.find((p) => p.ticket_id === a)?.repaired).toMatch(/restored/);
    expect(lost.find((p) => p.ticket_id === b)?.repaired).toBeUndefined();
    expect(lost.find((p) => p.ticket_id === b)?.message).toMatch(/birth record .* is not a valid ticket/);
  });

  it('symlinks in state dirs are quarantined (the link, never its target)', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    const target = join(root, 'outside.json');
    await writeFile(target, 'secret');
    await symlink(target, join(ctx.paths.dir, 'pending', 'parse', 'parse-link-1.json'));
    await mkdir(join(root, 'outside-dir'));
    await symlink(join(root, 'outside-dir'), join(ctx.paths.dir, 'pending', 'translate'));
    await detectThenRepair(['symlink']);
    expect(await readFile(target, 'utf8')).toBe('secret');
    expect(await ls(join(root, 'outside-dir'))).toEqual([]);
    expect((await fsckRun(ctx)).tickets).toBe(1);
  });

  it('a file dropped directly into pending/ is quarantined; a valid ticket dropped by hand is registered', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    await writeFile(join(ctx.paths.dir, 'pending', 'stray.json'), '{}');
    const byHand = newTicket({ runId: ctx.runId, stage: 'parse', input: { id: 'h' }, now: run.clock.now(), pipeline: ctx.config.pipeline });
    await writeFile(stateFile(ctx, 'pending', 'parse', byHand.ticket_id), serializeTicket(byHand));
    await writeFile(join(ctx.paths.dir, 'pending', 'parse', 'notes.txt'), 'hello');
    await detectThenRepair(['misplaced', 'unregistered', 'stray_file']);
    expect(await readFile(registryPath(ctx, 'parse', byHand.ticket_id), 'utf8')).toBe(serializeBirthRecord(byHand));
    expect((await fsckRun(ctx)).tickets).toBe(2);
    expect(await claimTicket(ctx, { stage: 'parse', workerId: 'w1' })).not.toBeNull();
  });

  it('leftover .tmp files are removed', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    await mkdir(ctx.paths.tmp, { recursive: true });
    await writeFile(join(ctx.paths.tmp, 'x.json.123.abc.tmp'), '{"half');
    await detectThenRepair(['temp_files']);
    expect(await ls(ctx.paths.tmp)).toEqual([]);
  });

  describe('leftovers in moving/', () => {
    it('next+prev (fenced, not committed): the move is finished, and the completed parent cascades', async () => {
      await addItems(ctx, 'parse', parseItems(1));
      const t = await claim();
      const n = 'aaaaaaaaaaaa';
      // As submit writes it: with its 'submitted' history entry (without one, it would be hand-moved).
      const done: Ticket = { ...t, status: 'completed', output_data: { text: 'x' }, completed_at: t.created_at, history: withHistory(t, { at: t.created_at, event: 'submitted', from: 'claimed', to: 'completed', worker_id: 'w1' }) };
      await writeFile(join(ctx.paths.moving, `${t.ticket_id}~${n}.next.json`), serializeTicket(done));
      await rename(stateFile(ctx, 'claimed', 'w1', t.ticket_id), join(ctx.paths.moving, `${t.ticket_id}~${n}.prev.json`));
      const before = await fsckRun(ctx);
      expect(kinds(before)).toContain('in_flight');
      expect(before.tickets).toBe(0);
      const r = await fsckRun(ctx, { repair: true, settleMs: 0 });
      expect(r.recovered.map((a) => a.action)).toEqual(['finished move']);
      expect(r.ok).toBe(true);
      expect((await readTicketFile(stateFile(ctx, 'completed', 'parse', t.ticket_id))).output_data).toEqual({ text: 'x' });
      expect(await ls(ctx.paths.moving)).toEqual([]);
      expect(await ls(join(ctx.paths.dir, 'pending', 'translate'))).toHaveLength(1);
      await expectFsckOk(ctx);
    });

    it('prev only, ticket already committed: the prev copy is cleared', async () => {
      await addItems(ctx, 'parse', parseItems(1));
      const done = await completeOne();
      await copyFile(stateFile(ctx, 'completed', 'parse', done.ticket_id), join(ctx.paths.moving, `${done.ticket_id}~bbbbbbbbbbbb.prev.json`));
      const r = await fsckRun(ctx, { repair: true, settleMs: 0 });
      expect(r.recovered.map((a) => a.action)).toEqual(['cleared']);
      expect(await ls(ctx.paths.moving)).toEqual([]);
      await expectFsckOk(ctx);
    });

    it('prev only, ticket nowhere else: it is put back', async () => {
      await addItems(ctx, 'parse', parseItems(1));
      const t = await claim();
      await rename(stateFile(ctx, 'claimed', 'w1', t.ticket_id), join(ctx.paths.moving, `${t.ticket_id}~cccccccccccc.prev.json`));
      const r = await fsckRun(ctx, { repair: true, settleMs: 0 });
      expect(r.recovered.map((a) => a.action)).toEqual(['restored']);
      expect((await readTicketFile(stateFile(ctx, 'claimed', 'w1', t.ticket_id))).claim?.worker_id).toBe('w1');
      await expectFsckOk(ctx);
    });

    it('next only (never fenced): the draft is dropped, a submitted output is kept in rejected/', async () => {
      await addItems(ctx, 'parse', parseItems(1));
      const t = await claim();
      const draft: Ticket = { ...t, status: 'completed', output_data: { text: 'draft' } };
      await writeFile(join(ctx.paths.moving, `${t.ticket_id}~dddddddddddd.next.json`), serializeTicket(draft));
      const r = await fsckRun(ctx, { repair: true, settleMs: 0 });
      expect(r.recovered.map((a) => a.action)).toEqual(['kept aborted output']);
      expect(await ls(ctx.paths.moving)).toEqual([]);
      expect((await readTicketFile(stateFile(ctx, 'claimed', 'w1', t.ticket_id))).status).toBe('claimed');
      expect(await ls(ctx.paths.rejected)).toHaveLength(1);
      await expectFsckOk(ctx);
    });

    it('.new with a registry entry is published; .new without one is dropped', async () => {
      await addItems(ctx, 'parse', parseItems(1));
      const reg = newTicket({ runId: ctx.runId, stage: 'parse', input: { id: 'r' }, now: run.clock.now(), pipeline: ctx.config.pipeline });
      const unreg = newTicket({ runId: ctx.runId, stage: 'parse', input: { id: 'u' }, now: run.clock.now(), pipeline: ctx.config.pipeline });
      await writeFile(join(ctx.paths.moving, `${reg.ticket_id}~eeeeeeeeeeee.new.json`), serializeTicket(reg));
      await writeFile(registryPath(ctx, 'parse', reg.ticket_id), serializeTicket(reg));
      await writeFile(join(ctx.paths.moving, `${unreg.ticket_id}~ffffffffffff.new.json`), serializeTicket(unreg));
      const before = await fsckRun(ctx);
      expect(kinds(before)).toEqual(expect.arrayContaining(['in_flight', 'lost']));
      const r = await fsckRun(ctx, { repair: true, settleMs: 0 });
      expect(r.recovered.map((a) => a.action).sort()).toEqual(['dropped unregistered birth', 'published birth']);
      expect(r.ok).toBe(true);
      expect(await ls(ctx.paths.moving)).toEqual([]);
      const pending = await ls(join(ctx.paths.dir, 'pending', 'parse'));
      expect(pending).toContain(`${reg.ticket_id}.json`);
      expect(pending).not.toContain(`${unreg.ticket_id}.json`);
      await expectFsckOk(ctx);
      expect(await countRegistered()).toBe(2);
    });

    it('empty files left by a crash between open and write are handled', async () => {
      await addItems(ctx, 'parse', parseItems(1));
      const t = await claim();
      await writeFile(join(ctx.paths.moving, `${t.ticket_id}~111111111111.next.json`), '');
      await writeFile(join(ctx.paths.moving, 'parse-ghost-1~222222222222.new.json'), '');
      const r = await fsckRun(ctx, { repair: true, settleMs: 0 });
      expect(r.ok).toBe(true);
      expect(await ls(ctx.paths.moving)).toEqual([]);
      expect((await readTicketFile(stateFile(ctx, 'claimed', 'w1', t.ticket_id))).status).toBe('claimed');
      await expectFsckOk(ctx);
    });
  });

  it('a completed parent without its cascade marker is cascaded', async () => {
    await addItems(ctx, 'translate', [{ text: 'a' }]);
    const t = await claim('w1', 'translate');
    const done = await submitTicket(ctx, { ticketId: t.ticket_id, workerId: 'w1', output: { new_nouns: [{ noun: 'Hexagone' }, { noun: 'Gaule' }] } });
    await rm(cascadeMarkerPath(ctx, done.ticket.ticket_id));
    for (const k of await ls(join(ctx.paths.dir, 'pending', 'curate'))) await rm(join(ctx.paths.dir, 'pending', 'curate', k));
    for (const k of await ls(join(ctx.paths.registry, 'curate'))) await rm(join(ctx.paths.registry, 'curate', k));
    const { repaired } = await detectThenRepair(['cascade_pending']);
    expect(repaired.problems.find((p) => p.kind === 'cascade_pending')?.repaired).toMatch(/2 created/);
    expect(await ls(join(ctx.paths.dir, 'pending', 'curate'))).toHaveLength(2);
  });

  it('a cascade marker naming children that do not exist is re-cascaded', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    await completeOne();
    const kid = (await ls(join(ctx.paths.dir, 'pending', 'translate')))[0] as string;
    await rm(join(ctx.paths.dir, 'pending', 'translate', kid));
    await rm(join(ctx.paths.registry, 'translate', kid));
    await detectThenRepair(['child_missing']);
    expect(await ls(join(ctx.paths.dir, 'pending', 'translate'))).toEqual([kid]);
  });
});
