import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addTickets, itemsOf } from '../../../src/core/ops/add-tickets.js';
import { listTickets, runStatus } from '../../../src/core/views/list-tickets.js';
import { readTicketAt } from '../../../src/core/store/read-ticket.js';
import { mapLimit } from '../../../src/core/store/run-pool.js';
import { ensureDistBuilt } from '../../helpers/build-dist.js';
import { makeRun } from '../../helpers/make-run.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';
import { expectFsckOk } from '../../helpers/ticket-files.js';
import { waitFor } from '../../helpers/wait-for.js';
import { fixedClock } from '../../../src/core/model/clock.js';

const WORKER = fileURLToPath(new URL('../../fixtures/claim-race-worker.mjs', import.meta.url));
const PROCESSES = 8;
const TICKETS = 2000;

let root: string;
beforeAll(async () => {
  await ensureDistBuilt();
  root = await makeTempDir('tq-race-');
});
afterAll(async () => {
  await removeDir(root);
});

interface WorkerReport {
  worker: string;
  claimed: string[];
  errors: string[];
}

function startWorker(worker: string): { child: ChildProcessWithoutNullStreams; out: () => string; done: Promise<number | null> } {
  const child = spawn(process.execPath, [WORKER, root, 'race', worker, 'work'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<number | null>((resolve) => child.on('close', (code) => {
    if (code !== 0) process.stderr.write(`${worker} exited ${code}: ${err}\n`);
    resolve(code);
  }));
  return { child, out: () => out, done };
}

describe('multi-process claim race', () => {
  it(`${PROCESSES} processes claim and submit ${TICKETS} tickets: each exactly once, none lost`, async () => {
    const { ctx } = await makeRun(root, 'race', { stages: { work: { lease: '10m' } } }, fixedClock(new Date()));
    const created = await addTickets(ctx, 'work', itemsOf(Array.from({ length: TICKETS }, (_, i) => ({ n: i }))));
    expect(created.created).toBe(TICKETS);

    const workers = Array.from({ length: PROCESSES }, (_, i) => startWorker(`w${i}`));
    await waitFor(() => workers.every((w) => w.out().startsWith('ready\n')), 30_000, 'all workers ready');
    const t0 = performance.now();
    for (const w of workers) w.child.stdin.end('go\n');
    const codes = await Promise.all(workers.map((w) => w.done));
    const wallMs = performance.now() - t0;
    expect(codes).toEqual(Array(PROCESSES).fill(0));

    const reports = workers.map((w) => JSON.parse(w.out().split('\n')[1] ?? '') as WorkerReport);
    const counts = new Map<string, number>();
    for (const r of reports) for (const id of r.claimed) counts.set(id, (counts.get(id) ?? 0) + 1);
    const duplicates = [...counts.values()].filter((n) => n > 1).length;
    const losses = created.ticket_ids.filter((id) => !counts.has(id)).length;
    const errors = reports.flatMap((r) => r.errors);
    const perWorker = reports.map((r) => r.claimed.length);

    console.log(
      `claim race: ${PROCESSES} processes, ${TICKETS} tickets, ${duplicates} duplicates, ${losses} losses, ` +
        `${errors.length} submit errors, wall ${(wallMs / 1000).toFixed(2)} s ` +
        `(${Math.round(TICKETS / (wallMs / 1000))} claim+submit/s), per process ${perWorker.join('/')}`,
    );

    expect(errors).toEqual([]);
    expect(duplicates).toBe(0);
    expect(losses).toBe(0);
    expect(counts.size).toBe(TICKETS);
    // more than one process actually took part (otherwise there was no race)
    expect(perWorker.filter((n) => n > 0).length).toBeGreaterThan(1);

    const s = await runStatus(ctx);
    expect(s.totals).toMatchObject({ all: TICKETS, completed: TICKETS, pending: 0, claimed: 0 });
    // each completed ticket was claimed once, by the process that reported it
    const owner = new Map<string, string>();
    for (const r of reports) for (const id of r.claimed) owner.set(id, r.worker);
    const done = await listTickets(ctx, { state: 'completed' });
    const mismatched = (await mapLimit(done, 32, async (e) => {
      const t = await readTicketAt(ctx, e.path);
      return t.claim_count === 1 && t.claim?.worker_id === owner.get(t.ticket_id) && (t.output_data as { by?: string }).by === owner.get(t.ticket_id) ? 0 : 1;
    })).reduce((a: number, b: number) => a + b, 0);
    expect(mismatched).toBe(0);
    const report = await expectFsckOk(ctx);
    expect(report.tickets).toBe(TICKETS);
  });
});
