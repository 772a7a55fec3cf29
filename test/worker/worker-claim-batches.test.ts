/**
 * The Worker claims for its free slots in one claimTickets call: C idle slots make one call for
 * C tickets, not C calls for one; and it never claims more than its free slots.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as claimMany from '../../src/core/ops/claim-tickets.js';
import { Worker } from '../../src/worker/worker.js';
import type { Handler } from '../../src/worker/worker-types.js';
import { addItems, makeRun, parseItems, type TestRun } from '../helpers/make-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';
import { expectFsckOk, ls } from '../helpers/ticket-files.js';
import { waitFor } from '../helpers/wait-for.js';

vi.mock('../../src/core/ops/claim-tickets.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/core/ops/claim-tickets.js')>();
  return { ...original, claimTickets: vi.fn(original.claimTickets) };
});
const claimTickets = vi.mocked(claimMany.claimTickets);

let dir: string;
let run: TestRun;
beforeEach(async () => {
  dir = await makeTempDir('tq-worker-batch-');
  run = await makeRun(join(dir, 'runs'));
  claimTickets.mockClear();
});
afterEach(async () => {
  await removeDir(dir);
});

/** A handler that holds every job until the test opens the gate. */
function gate(): { handler: Handler; open: () => void; running: () => number } {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  let running = 0;
  return {
    open: () => open(),
    running: () => running,
    handler: async (t) => {
      running += 1;
      await opened;
      return { walk_id: t.ticket_id, beats: [] };
    },
  };
}

describe('Worker claims in batches', () => {
  it('four idle slots take four tickets in one call, and no slot claims beyond the free ones', async () => {
    await addItems(run.ctx, 'parse', parseItems(10));
    const g = gate();
    const w = new Worker(run.ctx, 'parse', g.handler, { workerId: 'w1', concurrency: 4, pollInterval: 10, heartbeatEvery: 20, reapEvery: false, untilEmpty: true });
    const done = w.run();
    await waitFor(() => g.running() === 4, 5000, 'four jobs running');
    const withTickets = async (): Promise<number[]> => Promise.all(claimTickets.mock.results.map(async (r) => ((await r.value) as unknown[]).length));
    expect(claimTickets.mock.calls[0]?.[1].max).toBe(4);
    expect(await withTickets()).toEqual([4]);
    // While all four slots are busy nothing more is claimed: 6 tickets wait in pending/.
    expect(await ls(join(run.ctx.paths.dir, 'claimed', 'w1'))).toHaveLength(4);
    g.open();
    const summary = await done;
    expect(summary.done).toBe(10);
    for (const call of claimTickets.mock.calls) expect(call[1].max).toBeLessThanOrEqual(4);
    await expectFsckOk(run.ctx);
  });
});
