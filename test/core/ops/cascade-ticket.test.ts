import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimTicket } from '../../../src/core/ops/claim-ticket.js';
import { submitTicket } from '../../../src/core/ops/submit-ticket.js';
import { cascadeTicket, cascadeMarkerPath } from '../../../src/core/ops/cascade-ticket.js';
import { showTicket } from '../../../src/core/views/show-ticket.js';
import { listTickets } from '../../../src/core/views/list-tickets.js';
import type { RunCtx } from '../../../src/core/store/run-context.js';
import type { JsonObject, Ticket } from '../../../src/core/model/ticket-schema.js';
import { addItems, makeRun, parseItems } from '../../helpers/make-run.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';
import { expectFsckOk, ls, readTicketFile, writeTicketFile } from '../../helpers/ticket-files.js';
import { copiesOf } from '../../helpers/run-invariants.js';
import { TqError } from '../../../src/core/model/errors.js';

let root: string;
beforeEach(async () => {
  root = await makeTempDir();
});
afterEach(async () => {
  await removeDir(root);
});

async function complete(ctx: RunCtx, stage: string, output: JsonObject, worker = 'w1'): Promise<Ticket> {
  const c = await claimTicket(ctx, { stage, workerId: worker });
  if (!c) throw new Error(`nothing to claim in ${stage}`);
  return (await submitTicket(ctx, { ticketId: c.ticket.ticket_id, workerId: worker, output })).ticket;
}

async function registryCount(ctx: RunCtx): Promise<number> {
  let n = 0;
  for (const stage of await ls(ctx.paths.registry)) n += (await ls(join(ctx.paths.registry, stage))).length;
  return n;
}

describe('cascadeTicket', () => {
  it('1:1: a completed parse ticket gets one translate child whose input is the output', async () => {
    const { ctx } = await makeRun(root);
    const [parent] = await addItems(ctx, 'parse', [{ id: '0x14dfea', text: 'Bonjour' }]);
    const done = await complete(ctx, 'parse', { text: 'Bonjour', node_id: '0x14dfeb' });
    const kids = await listTickets(ctx, { stage: 'translate' });
    expect(kids).toHaveLength(1);
    const child = await readTicketFile(kids[0]?.path as string);
    expect(child.ticket_id).toBe(`translate-${(parent as string).slice('parse-'.length)}`);
    expect(child.input_data).toEqual(done.output_data);
    expect(child.lineage.parents).toEqual([parent]);
    expect(child.lineage.root_id).toBe(parent);
    expect(child.lineage.source_refs).toEqual(['0x14dfea', '0x14dfeb']);
    await expectFsckOk(ctx);
  });

  it('for_each: one child per element (unkeyed fan-out, by index)', async () => {
    const pipeline = { stages: { split: {}, work: {} }, cascade: [{ from: 'split', to: 'work', for_each: 'parts' }] };
    const { ctx } = await makeRun(root, 'fan', pipeline);
    await addItems(ctx, 'split', [{ doc: 1 }]);
    await complete(ctx, 'split', { parts: [{ p: 'a' }, { p: 'b' }, 'plain string'] });
    const kids = await listTickets(ctx, { stage: 'work' });
    expect(kids).toHaveLength(3);
    const inputs = await Promise.all(kids.map(async (k) => (await readTicketFile(k.path)).input_data));
    expect(inputs).toEqual(expect.arrayContaining([{ p: 'a' }, { p: 'b' }, { value: 'plain string' }]));
    await expectFsckOk(ctx);
  });

  it('keyed dedupe: two translate tickets listing "Hexagone" give ONE curate ticket requested by both', async () => {
    const { ctx } = await makeRun(root);
    const [t1, t2] = await addItems(ctx, 'translate', [{ text: 'a' }, { text: 'b' }]);
    await complete(ctx, 'translate', { new_nouns: [{ noun: 'Hexagone', gloss: 'France' }, { noun: 'Gaule' }] });
    await complete(ctx, 'translate', { new_nouns: [{ noun: ' Hexagone ' }] });
    const curate = await listTickets(ctx, { stage: 'curate' });
    expect(curate).toHaveLength(2);
    const hex = curate.find((c) => c.ticket_id.startsWith('curate-k-hexagone-'));
    expect(hex).toBeDefined();
    const view = await showTicket(ctx, hex?.ticket_id as string);
    expect(view.requested_by).toEqual([t1, t2].sort());
    expect(view.ticket.lineage.key).toBe('Hexagone');
    await expectFsckOk(ctx);
  });

  it('re-running cascadeTicket creates nothing new (with and without the marker)', async () => {
    const { ctx } = await makeRun(root);
    await addItems(ctx, 'translate', [{ text: 'a' }]);
    const parent = await complete(ctx, 'translate', { new_nouns: [{ noun: 'Hexagone' }, { noun: 'Gaule' }, { noun: 'Lutèce' }] });
    const before = await registryCount(ctx);
    const pendingBefore = await ls(join(ctx.paths.dir, 'pending', 'curate'));
    expect(pendingBefore).toHaveLength(3);
    const again = await cascadeTicket(ctx, parent);
    expect(again?.created).toHaveLength(3); // the marker written by the first cascade
    // Without the marker (e.g. a crash before it was written) the cascade runs again: all dedupe.
    await rm(cascadeMarkerPath(ctx, parent.ticket_id));
    const third = await cascadeTicket(ctx, parent);
    expect(third?.created).toEqual([]);
    expect(third?.deduplicated).toHaveLength(3);
    expect(await registryCount(ctx)).toBe(before);
    expect(await ls(join(ctx.paths.dir, 'pending', 'curate'))).toEqual(pendingBefore);
    await expectFsckOk(ctx);
  });

  it('a completed child that was already worked on is not recreated', async () => {
    const { ctx } = await makeRun(root);
    await addItems(ctx, 'parse', parseItems(1));
    const parent = await complete(ctx, 'parse', { text: 'x' });
    await complete(ctx, 'translate', { new_nouns: [] });
    await rm(cascadeMarkerPath(ctx, parent.ticket_id));
    const m = await cascadeTicket(ctx, parent);
    expect(m?.created).toEqual([]);
    expect(await ls(join(ctx.paths.dir, 'pending', 'translate'))).toEqual([]);
    await expectFsckOk(ctx);
  });

  it('stages without rules do not cascade', async () => {
    const { ctx } = await makeRun(root);
    await addItems(ctx, 'curate', [{ noun: 'x' }]);
    const t = await complete(ctx, 'curate', { ok: true });
    expect(await cascadeTicket(ctx, t)).toBeUndefined();
  });

  describe('a ticket moved into completed/ by hand (or by an agent) is never cascaded', () => {
    async function handMoved(ctx: RunCtx, edit: (t: Ticket) => Ticket): Promise<{ id: string; path: string; ticket: Ticket }> {
      const [id] = (await addItems(ctx, 'parse', parseItems(1))) as [string];
      const from = join(ctx.paths.dir, 'pending', 'parse', `${id}.json`);
      const path = join(ctx.paths.dir, 'completed', 'parse', `${id}.json`);
      await mkdir(join(path, '..'), { recursive: true });
      await rename(from, path);
      const ticket = edit(await readTicketFile(path));
      await writeTicketFile(path, ticket);
      return { id, path, ticket };
    }

    async function refusal(p: Promise<unknown>): Promise<TqError> {
      try {
        await p;
      } catch (err) {
        if (err instanceof TqError) return err;
        throw err;
      }
      throw new Error('cascaded');
    }

    it('renamed only (status still pending): CORRUPT_TICKET naming the status field; no child, no marker', async () => {
      const { ctx } = await makeRun(root);
      const h = await handMoved(ctx, (t) => t);
      const err = await refusal(cascadeTicket(ctx, h.ticket));
      expect(err.code).toBe('CORRUPT_TICKET');
      expect(err.field).toBe('status');
      expect(err.file).toBe(h.path);
      expect(await listTickets(ctx, { stage: 'translate' })).toEqual([]);
      expect(await ls(ctx.paths.cascadeDone)).toEqual([]);
      expect(await copiesOf(ctx, h.id)).toEqual([`completed/parse/${h.id}.json`]);
    });

    it('status and output edited too, but no submit in its history: WRONG_STATE naming the history; no child, no marker', async () => {
      const { ctx } = await makeRun(root);
      const h = await handMoved(ctx, (t) => ({ ...t, status: 'completed', output_data: { beats: [1] } }));
      const err = await refusal(cascadeTicket(ctx, h.ticket));
      expect(err.code).toBe('WRONG_STATE');
      expect(err.field).toBe('history');
      expect(err.message).toContain('never submitted');
      expect(await listTickets(ctx, { stage: 'translate' })).toEqual([]);
      expect(await ls(ctx.paths.cascadeDone)).toEqual([]);
      expect(await copiesOf(ctx, h.id)).toEqual([`completed/parse/${h.id}.json`]);
    });

    it('a submitted parent whose file disagrees with its place (ticket_id of another ticket) is refused', async () => {
      const { ctx } = await makeRun(root);
      await addItems(ctx, 'parse', parseItems(2));
      const done = await complete(ctx, 'parse', { beats: [] });
      const forged = { ...done, ticket_id: 'parse-someone-else' };
      const err = await refusal(cascadeTicket(ctx, forged, join(ctx.paths.dir, 'completed', 'parse', `${done.ticket_id}.json`)));
      expect(err.code).toBe('CORRUPT_TICKET');
      expect(err.field).toBe('ticket_id');
    });
  });
});

