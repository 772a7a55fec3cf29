import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRun } from '../../../src/core/store/run-context.js';
import { listTickets } from '../../../src/core/views/list-tickets.js';
import { readTicketAt } from '../../../src/core/store/read-ticket.js';
import { fsckRun } from '../../../src/core/fsck/fsck-run.js';
import { mapLimit } from '../../../src/core/store/run-pool.js';
import { ensureDistBuilt } from '../../helpers/build-dist.js';
import { EXAMPLE_PIPELINE_FILE } from '../../helpers/make-run.js';
import { runTq } from '../../helpers/capture-io.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';
import { ls } from '../../helpers/ticket-files.js';
import { countCalls, dataWriteOrdinals, prepareCrashSuite, runTraced, spreadCrashJobs, wasKilled } from '../../helpers/strace-crash.js';

/**
 * Crash a real `tq add --input` of 40 items into an existing run with SIGKILL at a spread of its
 * renames, links, unlinks and writes. Each item is recorded in items/<stage>/ before its ticket
 * is born; after each crash, `tq fsck --repair` must leave a consistent run holding each item at
 * most once, and re-running the same add must then hold each item exactly once (an item whose
 * entry was written but whose ticket was never born is born then).
 */
const ITEMS = 40;
const PER_KIND = 6;

let base: string;
let input: string;
let restoreEnv: () => void = () => undefined;

beforeAll(async () => {
  restoreEnv = await prepareCrashSuite(ensureDistBuilt);
  base = await makeTempDir('tq-crash-add-');
  input = join(base, 'items.jsonl');
  // Half the items have an id, half are keyed by their content.
  await writeFile(input, `${Array.from({ length: ITEMS }, (_, n) => JSON.stringify(n % 2 === 0 ? { n, id: `0x${n.toString(16)}` } : { n, text: `line ${n}` })).join('\n')}\n`);
});

afterAll(async () => {
  restoreEnv();
  await removeDir(base);
});

const addArgs = (): string[] => ['add', 'crash', '--input', input];

async function freshRun(root: string): Promise<void> {
  const r = await runTq(root, ['create', 'crash', '--pipeline', EXAMPLE_PIPELINE_FILE, '--durability', 'none']);
  expect(r.code, r.stderr).toBe(0);
}

/** fsck clean, every ticket a pending parse ticket with its item_key, each item at most (or exactly) once. */
async function expectConsistent(root: string, label: string, exactlyAll: boolean): Promise<number> {
  const ctx = await openRun(root, 'crash', { durability: 'none' });
  const report = await fsckRun(ctx);
  expect(report.problems, `${label}: fsck problems`).toEqual([]);
  const tickets = await listTickets(ctx);
  const read = await mapLimit(tickets, 16, async (t) => readTicketAt(ctx, t.path));
  expect(read.every((t) => t.status === 'pending' && t.worker_type === 'parse' && t.item_key !== undefined), label).toBe(true);
  const items = read.map((t) => Number(t.input_data.n));
  expect(new Set(items).size, `${label}: an item became two tickets`).toBe(items.length);
  if (exactlyAll) expect(items.length, label).toBe(ITEMS);
  expect(await ls(ctx.paths.moving)).toEqual([]);
  return items.length;
}

describe('crash midway through `tq add --input` (strace SIGKILL injection)', () => {
  it('fsck --repair leaves each item at most once; re-running the add leaves each exactly once', async () => {
    const t0 = performance.now();
    const probeRoot = join(base, 'probe');
    await freshRun(probeRoot);
    const { result, calls } = await runTraced(probeRoot, addArgs(), { traceFile: join(base, 'probe.trace') });
    expect(result.code, result.stderr).toBe(0);
    await expectConsistent(probeRoot, 'uninterrupted', true);
    const counts = countCalls(calls);
    const dataWrites = dataWriteOrdinals(calls);
    expect(counts.link, 'an item entry per item (linked from .tmp/)').toBeGreaterThanOrEqual(ITEMS);
    // The staged ticket, its birth record (O_EXCL straight into registry/) and the item entry.
    expect(dataWrites.length, 'three files written per item').toBeGreaterThanOrEqual(3 * ITEMS);

    const jobs = spreadCrashJobs(counts, dataWrites, PER_KIND);

    let copies = 0;
    const kept: number[] = [];
    await mapLimit(jobs, 2, async ({ kind, n }) => {
      const label = `${kind}#${n}`;
      const root = join(base, `copy-${(copies += 1)}`);
      await freshRun(root);
      let { result: r } = await runTraced(root, addArgs(), { kill: { kind, n } });
      // Why: a late write ordinal may lie past this run's last write (wake-ups vary a little).
      for (let m = Math.floor(n * 0.85); kind === 'write' && !wasKilled(r) && m > 0; m = Math.floor(m * 0.85)) {
        await removeDir(root);
        await freshRun(root);
        ({ result: r } = await runTraced(root, addArgs(), { kill: { kind, n: m } }));
      }
      expect(wasKilled(r), `${label}: expected a SIGKILL, got ${r.code}/${r.signal}: ${r.stderr}`).toBe(true);
      const fix = await runTq(root, ['fsck', 'crash', '--repair', '--settle', '0']);
      expect(fix.code, `${label}: fsck --repair\n${fix.stdout}${fix.stderr}`).toBe(0);
      kept.push(await expectConsistent(root, label, false));
      const again = await runTq(root, addArgs());
      expect(again.code, `${label}: add again\n${again.stderr}`).toBe(0);
      await expectConsistent(root, `${label} added again`, true);
      // And once more: nothing is added.
      expect(JSON.parse((await runTq(root, [...addArgs(), '--json'])).stdout)).toMatchObject({ created: 0, existing: ITEMS });
      await removeDir(root);
    });
    console.log(
      `crash-midway add (${ITEMS} items): ${jobs.length} crashes (rename/link/unlink/write of ${counts.rename}/${counts.link}/${counts.unlink}/${counts.write} calls, ` +
        `${PER_KIND} spread per kind): tickets kept after fsck --repair: ${kept.sort((a, b) => a - b).join(',')}; each item exactly once after re-running the add; ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  });
});
