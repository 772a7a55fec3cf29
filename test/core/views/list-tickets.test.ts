import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimTicket } from '../../../src/core/ops/claim-ticket.js';
import { submitTicket } from '../../../src/core/ops/submit-ticket.js';
import { listRuns, listTicketDirs, listTickets, runStatus } from '../../../src/core/views/list-tickets.js';
import { nodeFs, type Fs } from '../../../src/core/store/fs-layer.js';
import { isTqError } from '../../../src/core/model/errors.js';
import type { RunCtx } from '../../../src/core/store/run-context.js';
import { addItems, makeRun, parseItems } from '../../helpers/make-run.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';

let root: string;
let ctx: RunCtx;
beforeEach(async () => {
  root = await makeTempDir();
  ctx = (await makeRun(root)).ctx;
});
afterEach(async () => {
  await removeDir(root);
});

describe('listTickets and runStatus', () => {
  it('count from directory listings, per stage and state', async () => {
    await addItems(ctx, 'parse', parseItems(5));
    const a = await claimTicket(ctx, { stage: 'parse', workerId: 'w1' });
    await claimTicket(ctx, { stage: 'parse', workerId: 'w2' });
    await submitTicket(ctx, { ticketId: a?.ticket.ticket_id as string, workerId: 'w1', output: { x: 1 } });
    // Prove nothing reads ticket bodies: a failing readFile must not matter.
    const blind: Fs = { ...nodeFs, readFile: async (p) => (p.endsWith('run.json') ? nodeFs.readFile(p) : Promise.reject(new Error(`read ${p}`))) };
    const s = await runStatus({ ...ctx, fs: blind });
    expect(s.counts.parse).toEqual({ pending: 3, claimed: 1, completed: 1, failed: 0, needs_review: 0 });
    expect(s.counts.translate).toEqual({ pending: 1, claimed: 0, completed: 0, failed: 0, needs_review: 0 });
    expect(s.totals).toMatchObject({ all: 6, pending: 4, claimed: 1, completed: 1 });
    expect(s.workers).toEqual({ w2: 1 });
    expect(s.in_flight).toBe(0);

    const all = await listTickets({ ...ctx, fs: blind });
    expect(all).toHaveLength(6);
    expect(await listTickets(ctx, { state: 'claimed' })).toEqual([expect.objectContaining({ state: 'claimed', stage: 'parse', worker_id: 'w2' })]);
    expect(await listTickets(ctx, { stage: 'translate' })).toHaveLength(1);
    expect(await listTickets(ctx, { state: 'pending', stage: 'parse' })).toHaveLength(3);
  });

  it('works when state directories are missing entirely (as after a git clone)', async () => {
    await addItems(ctx, 'parse', parseItems(2));
    for (const d of ['pending', 'claimed', 'completed', 'failed', 'needs_review', 'moving', 'rejected', 'quarantine', 'cascade', '.tmp']) {
      await rm(join(ctx.paths.dir, d), { recursive: true, force: true });
    }
    const s = await runStatus(ctx);
    expect(s.totals.all).toBe(0);
    expect(await listTickets(ctx)).toEqual([]);
    expect(await claimTicket(ctx, { stage: 'parse', workerId: 'w1' })).toBeNull();
  });

  it('refuses bad filters', async () => {
    await expect(listTickets(ctx, { state: 'done' })).rejects.toSatisfy((e) => isTqError(e, 'USAGE'));
    await expect(listTickets(ctx, { stage: '../x' })).rejects.toSatisfy((e) => isTqError(e, 'INVALID_ID'));
  });

  it('lists in a fixed order (state, stage in pipeline order or worker, then name) and skips non-ticket files', async () => {
    await addItems(ctx, 'parse', parseItems(6));
    const b = await claimTicket(ctx, { stage: 'parse', workerId: 'w2' });
    const a = await claimTicket(ctx, { stage: 'parse', workerId: 'w1' });
    await submitTicket(ctx, { ticketId: a?.ticket.ticket_id as string, workerId: 'w1', output: { x: 1 } });
    await writeFile(join(ctx.paths.dir, 'claimed', 'w2', `${b?.ticket.ticket_id}.result.json`), '{}');
    await writeFile(join(ctx.paths.dir, 'claimed', 'w2', `${b?.ticket.ticket_id}~1.result.json`), '{}');
    await writeFile(join(ctx.paths.dir, 'pending', 'parse', '.scratch.json'), '{}');
    await writeFile(join(ctx.paths.dir, 'pending', 'parse', 'notes.txt'), '');
    const all = await listTickets(ctx);
    expect(all.map((t) => `${t.state} ${t.stage}`)).toEqual([...Array(4).fill('pending parse'), 'pending translate', 'claimed parse', 'completed parse']);
    const pendingParse = all.filter((t) => t.state === 'pending' && t.stage === 'parse').map((t) => t.ticket_id);
    expect(pendingParse).toEqual([...pendingParse].sort());
    for (const t of all) expect(t.path).toBe(t.worker_id ? join(ctx.paths.dir, 'claimed', t.worker_id, `${t.ticket_id}.json`) : join(ctx.paths.dir, t.state, t.stage, `${t.ticket_id}.json`));
    expect(all.find((t) => t.state === 'claimed')).toEqual({ ticket_id: b?.ticket.ticket_id, state: 'claimed', stage: 'parse', worker_id: 'w2', path: expect.any(String) });

    const dirs = await listTicketDirs(ctx);
    expect(dirs.map((d) => [d.state, d.stage, d.worker_id, d.names.length])).toEqual([
      ['pending', 'parse', undefined, 4], ['pending', 'translate', undefined, 1], ['pending', 'curate', undefined, 0],
      ['claimed', undefined, 'w1', 0], ['claimed', undefined, 'w2', 1],
      ['completed', 'parse', undefined, 1], ['completed', 'translate', undefined, 0], ['completed', 'curate', undefined, 0],
      ['failed', 'parse', undefined, 0], ['failed', 'translate', undefined, 0], ['failed', 'curate', undefined, 0],
      ['needs_review', 'parse', undefined, 0], ['needs_review', 'translate', undefined, 0], ['needs_review', 'curate', undefined, 0],
    ]);
    expect((await listTicketDirs(ctx, { state: 'claimed', stage: 'translate' })).map((d) => d.names)).toEqual([[], []]);
    const s = await runStatus(ctx);
    expect(s.counts.parse).toEqual({ pending: 4, claimed: 1, completed: 1, failed: 0, needs_review: 0 });
    expect(s.workers).toEqual({ w2: 1 });
  });

  it('listRuns finds directories holding a run.json', async () => {
    await makeRun(root, 'second');
    expect(await listRuns(root, nodeFs)).toEqual(['demo', 'second']);
    expect(await listRuns(join(root, 'missing'), nodeFs)).toEqual([]);
  });
});
