/**
 * fsck against files written by untrusted agents (issue 12): content that disagrees with its
 * location, tickets moved by hand into a finished state, odd entries among the claims, and an
 * entry that cannot be read. (FIFOs and symlinked directories are in the .system tests: an
 * fsck that hangs on a FIFO must be a separate process to be caught.)
 */
import { copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimTicket } from '../../../src/core/ops/claim-ticket.js';
import { submitTicket } from '../../../src/core/ops/submit-ticket.js';
import { approveTicket } from '../../../src/core/ops/review-moves.js';
import { fsckRun, type FsckReport } from '../../../src/core/fsck/fsck-run.js';
import { isHandMoved } from '../../../src/core/model/ticket-history.js';
import { nodeFs, type Fs } from '../../../src/core/store/fs-layer.js';
import { openRun, type RunCtx } from '../../../src/core/store/run-context.js';
import type { Ticket } from '../../../src/core/model/ticket-schema.js';
import { addItems, makeRun, parseItems, T0, type TestRun } from '../../helpers/make-run.js';
import { fixedClock } from '../../../src/core/model/clock.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';
import { expectFsckOk, ls, readTicketFile, stateFile, writeTicketFile } from '../../helpers/ticket-files.js';

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

function ofKind(r: FsckReport, kind: string): FsckReport['problems'] {
  return r.problems.filter((p) => p.kind === kind);
}

/** Every registered id is in exactly one state directory (a ticket neither lost nor doubled). */
async function expectEachTicketOnce(): Promise<void> {
  const registered: string[] = [];
  for (const stage of await ls(ctx.paths.registry)) registered.push(...(await ls(join(ctx.paths.registry, stage))).map((n) => n.replace(/\.json$/, '')));
  const seen = new Map<string, number>();
  for (const state of ['pending', 'claimed', 'completed', 'failed', 'needs_review']) {
    for (const sub of await ls(join(ctx.paths.dir, state))) {
      for (const name of await ls(join(ctx.paths.dir, state, sub))) if (/^[^.].*[^.]\.json$/.test(name) && !/\.(result|error|heartbeat|release)\.json$/.test(name)) seen.set(name.replace(/\.json$/, ''), (seen.get(name.replace(/\.json$/, '')) ?? 0) + 1);
    }
  }
  for (const id of registered) expect(seen.get(id), `${id} should be in exactly one state directory`).toBe(1);
  expect([...seen.keys()].sort()).toEqual([...registered].sort());
}

describe('fsck: content against location', () => {
  it('a claim copied into a second worker directory is a status_mismatch; --repair quarantines the copy, the holder keeps its claim', async () => {
    await addItems(ctx, 'parse', parseItems(2));
    const t = await claim('w1');
    await mkdir(join(ctx.paths.dir, 'claimed', 'w2'), { recursive: true });
    const copy = stateFile(ctx, 'claimed', 'w2', t.ticket_id);
    await copyFile(stateFile(ctx, 'claimed', 'w1', t.ticket_id), copy);

    const before = await fsckRun(ctx, { settleMs: 0 });
    expect(before.ok).toBe(false);
    const mismatch = ofKind(before, 'status_mismatch');
    expect(mismatch).toHaveLength(1);
    expect(mismatch[0]).toMatchObject({ file: copy, ticket_id: t.ticket_id });
    expect(mismatch[0]?.message).toContain('claim.worker_id');
    expect(ofKind(before, 'lost')).toEqual([]);

    const repaired = await fsckRun(ctx, { repair: true, settleMs: 0 });
    expect(repaired.ok, JSON.stringify(repaired.problems, null, 2)).toBe(true);
    expect(ofKind(repaired, 'status_mismatch')[0]?.repaired).toMatch(/moved to .*quarantine/);
    expect(await ls(join(ctx.paths.dir, 'claimed', 'w2'))).toEqual([]);
    expect((await readTicketFile(stateFile(ctx, 'claimed', 'w1', t.ticket_id))).claim?.worker_id).toBe('w1');
    const why = (await ls(ctx.paths.quarantine)).filter((n) => n.endsWith('.why.json'));
    expect(why).toHaveLength(1);
    await expectFsckOk(ctx);
    await expectEachTicketOnce();
  });

  it('a status edited by hand (pending/ says completed) is quarantined and the ticket restored from registry/', async () => {
    const [id] = (await addItems(ctx, 'parse', parseItems(1))) as [string];
    const path = stateFile(ctx, 'pending', 'parse', id);
    const t = await readTicketFile(path);
    await writeTicketFile(path, { ...t, status: 'completed', output_data: { forged: true } });

    const before = await fsckRun(ctx, { settleMs: 0 });
    expect(ofKind(before, 'status_mismatch').map((p) => p.file)).toEqual([path]);
    expect(ofKind(before, 'status_mismatch')[0]?.message).toMatch(/field status is "completed" but the file is in pending\/parse\//);

    const repaired = await fsckRun(ctx, { repair: true, settleMs: 0 });
    expect(repaired.ok, JSON.stringify(repaired.problems, null, 2)).toBe(true);
    expect(ofKind(repaired, 'lost')[0]?.repaired).toMatch(/restored to/);
    const back = await readTicketFile(path);
    expect(back).toMatchObject({ status: 'pending', output_data: null });
    expect(back.history.at(-1)?.event).toBe('restored by fsck');
    await expectFsckOk(ctx);
    await expectEachTicketOnce();
  });

  it('an unstamped claim (status still pending, no claim record) is not a status mismatch', async () => {
    const [id] = (await addItems(ctx, 'parse', parseItems(1))) as [string];
    await mkdir(join(ctx.paths.dir, 'claimed', 'w1'), { recursive: true });
    await rename(stateFile(ctx, 'pending', 'parse', id), stateFile(ctx, 'claimed', 'w1', id));
    const r = await fsckRun(ctx);
    expect(r.problems.map((p) => p.kind)).toEqual(['unstamped_claim']);
  });
});

describe('fsck: tickets moved by hand into a finished state', () => {
  it('pending -> completed by hand: reported, never cascaded, requeued by --repair, clean after', async () => {
    const [id, other] = (await addItems(ctx, 'parse', parseItems(2))) as [string, string];
    await mkdir(join(ctx.paths.dir, 'completed', 'parse'), { recursive: true });
    const moved = stateFile(ctx, 'completed', 'parse', id);
    await rename(stateFile(ctx, 'pending', 'parse', id), moved);

    const before = await fsckRun(ctx, { settleMs: 0 });
    expect(before.ok).toBe(false);
    expect(ofKind(before, 'hand_moved')).toEqual([expect.objectContaining({ file: moved, ticket_id: id })]);
    expect(ofKind(before, 'cascade_pending')).toEqual([]);
    expect(ofKind(before, 'status_mismatch')).toEqual([]);

    const repaired = await fsckRun(ctx, { repair: true, settleMs: 0 });
    expect(repaired.ok, JSON.stringify(repaired.problems, null, 2)).toBe(true);
    expect(ofKind(repaired, 'hand_moved')[0]?.repaired).toMatch(/requeued to .*pending\/parse\//);
    expect(ofKind(repaired, 'cascade_pending')).toEqual([]);
    const back = await readTicketFile(stateFile(ctx, 'pending', 'parse', id));
    expect(back.status).toBe('pending');
    expect(back.history.at(-1)).toMatchObject({ event: 'requeued by fsck', from: 'completed', to: 'pending' });
    // Never cascaded: no translate child was made from its (empty) output.
    expect(await ls(join(ctx.paths.dir, 'pending', 'translate'))).toEqual([]);
    expect(await ls(join(ctx.paths.registry, 'translate'))).toEqual([]);
    expect(await ls(ctx.paths.cascadeDone)).toEqual([]);
    expect(await ls(join(ctx.paths.dir, 'pending', 'parse'))).toEqual([`${id}.json`, `${other}.json`].sort());
    await expectFsckOk(ctx);
    await expectEachTicketOnce();
  });

  it('a status edited to completed as well does not make it legitimate', async () => {
    const [id] = (await addItems(ctx, 'parse', parseItems(1))) as [string];
    const t = await readTicketFile(stateFile(ctx, 'pending', 'parse', id));
    await mkdir(join(ctx.paths.dir, 'completed', 'parse'), { recursive: true });
    await writeTicketFile(stateFile(ctx, 'completed', 'parse', id), { ...t, status: 'completed', output_data: {} });
    await rm(stateFile(ctx, 'pending', 'parse', id));
    const before = await fsckRun(ctx, { settleMs: 0 });
    expect(ofKind(before, 'hand_moved').map((p) => p.ticket_id)).toEqual([id]);
    await fsckRun(ctx, { repair: true, settleMs: 0 });
    expect(await ls(join(ctx.paths.dir, 'pending', 'translate'))).toEqual([]);
    await expectFsckOk(ctx);
    await expectEachTicketOnce();
  });

  it('tickets that got there by submit, approve, or the reaper are not hand-moved', async () => {
    await addItems(ctx, 'parse', parseItems(3));
    const a = await claim('w1');
    await submitTicket(ctx, { ticketId: a.ticket_id, workerId: 'w1', output: { text: 'a' } });
    const b = await claim('w1');
    await submitTicket(ctx, { ticketId: b.ticket_id, workerId: 'w1', output: { text: 'b' }, status: 'needs_review' });
    await approveTicket(ctx, b.ticket_id);
    const c = await claim('w1');
    const failed = await submitTicket(ctx, { ticketId: c.ticket_id, workerId: 'w1', output: {}, status: 'failed' });
    expect(isHandMoved(failed.ticket, 'failed')).toBe(false);
    const reaped: Ticket = { ...failed.ticket, history: [...a.history, { at: T0, event: 'reaped', from: 'claimed', to: 'failed', worker_id: 'w1' }] };
    expect(isHandMoved(reaped, 'failed')).toBe(false);
    expect(isHandMoved({ ...reaped, history: [] }, 'failed')).toBe(true);
    await expectFsckOk(ctx);
  });
});

describe('fsck: one odd entry never stops it', () => {
  it('a directory named like a ticket among the claims is reported; every other claim is still checked and repaired', async () => {
    await addItems(ctx, 'parse', parseItems(6));
    const held: Ticket[] = [];
    for (let i = 0; i < 5; i += 1) held.push(await claim('w1'));
    const odd = join(ctx.paths.dir, 'claimed', 'w1', 'parse-zzzz-1.json');
    await mkdir(odd);
    await writeFile(join(odd, 'inside.json'), '{}');
    // Every claim loses its claim record: the reaper must adopt each one, whatever the listing order.
    for (const t of held) {
      const p = stateFile(ctx, 'claimed', 'w1', t.ticket_id);
      await writeTicketFile(p, { ...(await readTicketFile(p)), status: 'pending', claim: null });
    }
    const before = await fsckRun(ctx, { settleMs: 0 });
    expect(ofKind(before, 'special_file')).toEqual([expect.objectContaining({ file: odd })]);
    expect(ofKind(before, 'special_file')[0]?.message).toMatch(/directory/);
    expect(ofKind(before, 'unstamped_claim')).toHaveLength(5);
    expect(before.by_state.claimed).toBe(5);

    const repaired = await fsckRun(ctx, { repair: true, settleMs: 0 });
    expect(repaired.ok, JSON.stringify(repaired.problems, null, 2)).toBe(true);
    for (const t of held) expect((await readTicketFile(stateFile(ctx, 'claimed', 'w1', t.ticket_id))).claim?.worker_id).toBe('w1');
    expect(await readFile(join((await ls(ctx.paths.quarantine)).map((n) => join(ctx.paths.quarantine, n)).find((n) => n.includes('parse-zzzz-1.json~') && !n.endsWith('.why.json')) as string, 'inside.json'), 'utf8')).toBe('{}');
    await expectFsckOk(ctx);
    await expectEachTicketOnce();
  });

  it('an entry that cannot be read becomes a problem line naming it, and the others are checked', async () => {
    const ids = await addItems(ctx, 'parse', parseItems(4));
    const bad = stateFile(ctx, 'pending', 'parse', ids[1] as string);
    const fs: Fs = {
      ...nodeFs,
      readUpTo: async (p, limit) => {
        if (p === bad) throw Object.assign(new Error(`EIO: i/o error, read '${p}'`), { code: 'EIO', syscall: 'read' });
        return nodeFs.readUpTo(p, limit);
      },
    };
    const faulty = await openRun(root, ctx.runId, { fs, durability: 'none', clock: fixedClock(T0) });
    for (const repair of [false, true]) {
      const r = await fsckRun(faulty, { repair, settleMs: 0 });
      expect(r.ok).toBe(false);
      expect(ofKind(r, 'check_failed')).toEqual([expect.objectContaining({ file: bad, ticket_id: ids[1] })]);
      expect(r.by_state.pending).toBe(3);
      // Not lost: the file is there, fsck only could not read it.
      expect(ofKind(r, 'lost')).toEqual([]);
    }
    await expectFsckOk(ctx);
  });
});
