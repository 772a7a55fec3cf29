import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addTickets, itemsOf } from '../../../src/core/ops/add-tickets.js';
import { listTickets, runStatus } from '../../../src/core/views/list-tickets.js';
import { ensureDistBuilt } from '../../helpers/build-dist.js';
import { makeRun } from '../../helpers/make-run.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';
import { expectFsckOk, ls } from '../../helpers/ticket-files.js';
import { waitFor } from '../../helpers/wait-for.js';

/**
 * Lanes come and go under load: claimer processes drain priority lanes and remove them (rmdir)
 * while this process keeps adding tickets into those very lanes. No ticket may be lost,
 * duplicated or left stranded in moving/ by an add whose lane vanished under it.
 */
const WORKER = fileURLToPath(new URL('../../fixtures/claim-race-worker.mjs', import.meta.url));
const PROCESSES = 6;
const LOW = 400;
const BATCHES = 40;
const PER_BATCH = 10;
const PRIORITIES = [1, 2, 3, -1];

let root: string;
beforeAll(async () => {
  await ensureDistBuilt();
  root = await makeTempDir('tq-lanes-race-');
});
afterAll(async () => {
  await removeDir(root);
});

function startWorker(worker: string): { child: ChildProcessWithoutNullStreams; out: () => string; done: Promise<number | null> } {
  const child = spawn(process.execPath, [WORKER, root, 'race', worker, 'work'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { child, out: () => out, done };
}

describe('claims and adds racing over lanes', () => {
  it(`${PROCESSES} claimer processes drain priority lanes while ${BATCHES} batches are added into them: each ticket once, none stranded`, async () => {
    const { ctx } = await makeRun(root, 'race', { stages: { work: { lease: '10m' } } });
    const ids = new Set((await addTickets(ctx, 'work', itemsOf(Array.from({ length: LOW }, (_, n) => ({ n }))))).ticket_ids);
    const workers = Array.from({ length: PROCESSES }, (_, i) => startWorker(`w${i}`));
    await waitFor(() => workers.every((w) => w.out().startsWith('ready\n')), 30_000, 'all workers ready');
    for (const w of workers) w.child.stdin.end('go\n');
    for (let b = 0; b < BATCHES; b += 1) {
      const added = await addTickets(ctx, 'work', itemsOf(Array.from({ length: PER_BATCH }, (_, n) => ({ b, n }))), { priority: PRIORITIES[b % PRIORITIES.length] as number });
      for (const id of added.ticket_ids) ids.add(id);
    }
    expect(await Promise.all(workers.map((w) => w.done))).toEqual(Array(PROCESSES).fill(0));
    const reports = workers.map((w) => JSON.parse(w.out().split('\n')[1] ?? '') as { claimed: string[]; errors: string[] });
    const claimed = reports.flatMap((r) => r.claimed);
    expect(reports.flatMap((r) => r.errors)).toEqual([]);
    expect(new Set(claimed).size, 'a ticket was claimed twice').toBe(claimed.length);
    // Claimers stop when they find nothing: whatever they left is still pending, exactly once.
    const pending = (await listTickets(ctx, { state: 'pending' })).map((t) => t.ticket_id);
    expect([...claimed, ...pending].sort()).toEqual([...ids].sort());
    const s = await runStatus(ctx);
    expect(s.in_flight, 'an add left a birth stranded in moving/').toBe(0);
    expect(await ls(ctx.paths.moving)).toEqual([]);
    expect(s.totals).toMatchObject({ all: ids.size, completed: claimed.length, pending: pending.length, claimed: 0 });
    console.log(`lanes race: ${PROCESSES} processes, ${ids.size} tickets (${BATCHES * PER_BATCH} added into lanes while claiming), ${claimed.length} claimed and completed, ${pending.length} left pending, 0 duplicates, 0 lost`);
    await expectFsckOk(ctx);
  });
});
