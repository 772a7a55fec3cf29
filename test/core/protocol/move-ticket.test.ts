import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { moveTicket } from '../../../src/core/protocol/move-ticket.js';
import { claimTicket } from '../../../src/core/ops/claim-ticket.js';
import { submitTicket } from '../../../src/core/ops/submit-ticket.js';
import { TqError } from '../../../src/core/model/errors.js';
import { claimedLocation, stateLocation } from '../../../src/core/store/ticket-location.js';
import type { Ticket } from '../../../src/core/model/ticket-schema.js';
import type { RunCtx } from '../../../src/core/store/run-context.js';
import { addItems, makeRun, parseItems } from '../../helpers/make-run.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';
import { ls, readTicketFile, stateFile, writeTicketFile } from '../../helpers/ticket-files.js';
import { copiesOf } from '../../helpers/run-invariants.js';

let root: string;
let ctx: RunCtx;
beforeEach(async () => {
  root = await makeTempDir();
  ctx = (await makeRun(root)).ctx;
});
afterEach(async () => {
  await removeDir(root);
});

async function claimed(worker = 'w1'): Promise<{ id: string; path: string; ticket: Ticket }> {
  const r = await claimTicket(ctx, { stage: 'parse', workerId: worker });
  if (!r) throw new Error('nothing claimed');
  return { id: r.ticket.ticket_id, path: r.path, ticket: r.ticket };
}

async function thrown(p: Promise<unknown>): Promise<TqError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof TqError) return err;
    throw err;
  }
  throw new Error('no error');
}

const complete = (t: Ticket): Ticket => ({ ...t, status: 'completed', output_data: { x: 1 }, history: [...t.history, { at: t.created_at, event: 'submitted', from: 'claimed', to: 'completed', worker_id: 'w1' }] });

describe('moveTicket: the location is the truth', () => {
  it('refuses a source whose content disagrees with its location (CORRUPT_TICKET naming file and field); nothing changes', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    const c = await claimed();
    await writeTicketFile(c.path, { ...c.ticket, claim: { ...(c.ticket.claim as NonNullable<Ticket['claim']>), worker_id: 'w2' } });
    const err = await thrown(moveTicket(ctx, claimedLocation(c.id, 'w1'), { to: { state: 'completed' }, build: complete }));
    expect(err.code).toBe('CORRUPT_TICKET');
    expect(err.file).toBe(c.path);
    expect(err.field).toBe('claim.worker_id');
    expect(await copiesOf(ctx, c.id)).toEqual([`claimed/w1/${c.id}.json`]);
    expect(await ls(ctx.paths.moving)).toEqual([]);
  });

  it('builds the target from the location: a new version that disagrees with the target is refused before anything moves', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    const c = await claimed();
    for (const build of [(t: Ticket) => ({ ...complete(t), ticket_id: '../../escape' }), (t: Ticket) => ({ ...complete(t), worker_type: 'translate' }), (t: Ticket) => ({ ...t, status: 'failed' as const })]) {
      const err = await thrown(moveTicket(ctx, claimedLocation(c.id, 'w1'), { to: { state: 'completed' }, build }));
      expect(err.code).toBe('CORRUPT_TICKET');
      expect(err.file).toBe(stateFile(ctx, 'completed', 'parse', c.id));
    }
    expect(await copiesOf(ctx, c.id)).toEqual([`claimed/w1/${c.id}.json`]);
    expect(await ls(ctx.paths.moving)).toEqual([]);
  });

  it('never replaces a finished ticket: the duplicate source is quarantined under its own name, the finished file untouched', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    const c = await claimed();
    const copy = stateFile(ctx, 'needs_review', 'parse', c.id);
    await submitTicket(ctx, { ticketId: c.id, workerId: 'w1', output: { beats: ['kept'] } });
    const finished = await readFile(stateFile(ctx, 'completed', 'parse', c.id), 'utf8');
    // A stray copy in needs_review/ approved (moved into completed/) must not replace it.
    await mkdir(join(copy, '..'), { recursive: true });
    await writeTicketFile(copy, { ...c.ticket, status: 'needs_review', output_data: { beats: ['stray'] } });
    const out = await moveTicket(ctx, stateLocation('needs_review', c.id), { to: { state: 'completed' }, build: (t) => ({ ...t, status: 'completed' }) });
    expect(out).toMatchObject({ moved: false, reason: 'finished', state: 'completed', existing: stateFile(ctx, 'completed', 'parse', c.id) });
    expect(await readFile(stateFile(ctx, 'completed', 'parse', c.id), 'utf8')).toBe(finished);
    expect(await copiesOf(ctx, c.id)).toEqual([`completed/parse/${c.id}.json`]);
    const why = (await ls(ctx.paths.quarantine)).find((n) => n.startsWith(`${c.id}.json~`) && n.endsWith('.why.json'));
    expect(JSON.parse(await readFile(join(ctx.paths.quarantine, why as string), 'utf8'))).toMatchObject({ file: relative(ctx.paths.dir, copy) });
    expect(await ls(ctx.paths.moving)).toEqual([]);
  });

  it('a move into pending/ or another finished state while a finished copy exists is refused the same way', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    const c = await claimed();
    const saved = await readFile(c.path, 'utf8');
    await submitTicket(ctx, { ticketId: c.id, workerId: 'w1', output: { beats: [] } });
    for (const to of ['pending', 'failed'] as const) {
      // A copy of the claim put back by hand after the submit.
      await writeFile(c.path, saved);
      const out = await moveTicket(ctx, claimedLocation(c.id, 'w1'), { to: { state: to }, build: (t) => ({ ...t, status: to, claim: to === 'pending' ? null : t.claim }) });
      expect(out).toMatchObject({ moved: false, reason: 'finished', state: 'completed' });
      expect(await copiesOf(ctx, c.id)).toEqual([`completed/parse/${c.id}.json`]);
    }
    expect((await readTicketFile(stateFile(ctx, 'completed', 'parse', c.id))).status).toBe('completed');
  });
});
