import { access, readdir, writeFile } from 'node:fs/promises';
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
import { countCalls, dataWriteOrdinals, KINDS, prepareCrashSuite, runTraced, spreadCrashJobs, wasKilled } from '../../helpers/strace-crash.js';

/**
 * Crash a real `tq create --input` of 50 items with SIGKILL at a spread of its renames, links,
 * unlinks and writes. A create is all or nothing: after each crash there is either the whole run
 * (fsck clean, each item exactly once) or no run at all (at most a hidden build directory, which
 * `tq runs` does not list), and re-running the same create then makes the whole run and removes
 * what the killed one left.
 */
const ITEMS = 50;
/** How many crash points per syscall kind (spread from the first call to the last). */
const PER_KIND = 6;

let base: string;
let input: string;
let restoreEnv: () => void = () => undefined;

beforeAll(async () => {
  restoreEnv = await prepareCrashSuite(ensureDistBuilt);
  base = await makeTempDir('tq-crash-create-');
  input = join(base, 'items.jsonl');
  await writeFile(input, `${Array.from({ length: ITEMS }, (_, n) => JSON.stringify({ n, id: `0x${n.toString(16)}`, text: `line ${n}` })).join('\n')}\n`);
});

afterAll(async () => {
  restoreEnv();
  await removeDir(base);
});

const createArgs = (): string[] => ['create', 'crash', '--pipeline', EXAMPLE_PIPELINE_FILE, '--input', input];

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** fsck clean, every ticket a pending parse ticket, each input item at most (or exactly) once. */
async function expectConsistent(root: string, label: string, exactlyAll: boolean): Promise<number> {
  const ctx = await openRun(root, 'crash', { durability: 'none' });
  const report = await fsckRun(ctx);
  expect(report.problems, `${label}: fsck problems`).toEqual([]);
  const tickets = await listTickets(ctx);
  expect(tickets.every((t) => t.state === 'pending' && t.stage === 'parse'), label).toBe(true);
  const items = await mapLimit(tickets, 16, async (t) => Number((await readTicketAt(ctx, t.path)).input_data.n));
  expect(new Set(items).size, `${label}: an item became two tickets`).toBe(items.length);
  let registered = 0;
  for (const s of await ls(ctx.paths.registry)) registered += (await ls(join(ctx.paths.registry, s))).length;
  expect(registered, `${label}: registry vs tickets`).toBe(tickets.length);
  if (exactlyAll) expect(items.length, label).toBe(ITEMS);
  expect(await ls(ctx.paths.moving)).toEqual([]);
  return items.length;
}

describe('crash midway through `tq create --input` (strace SIGKILL injection)', () => {
  it('after each crash there is the whole run or none; re-running the create then makes the whole run', async () => {
    const t0 = performance.now();
    const probeRoot = join(base, 'probe');
    const { result, calls } = await runTraced(probeRoot, createArgs(), { traceFile: join(base, 'probe.trace') });
    expect(result.code, result.stderr).toBe(0);
    await expectConsistent(probeRoot, 'uninterrupted', true);
    const counts = countCalls(calls);
    const dataWrites = dataWriteOrdinals(calls);
    expect(counts.link, 'an item entry per item (linked from .tmp/)').toBeGreaterThanOrEqual(ITEMS);
    // The staged ticket, its birth record (O_EXCL straight into registry/) and the item entry.
    expect(dataWrites.length, 'three files written per item').toBeGreaterThanOrEqual(3 * ITEMS);

    const jobs = spreadCrashJobs(counts, dataWrites, PER_KIND);

    let copies = 0;
    const outcome = { whole: 0, none: 0, leftovers: 0 };
    await mapLimit(jobs, 2, async ({ kind, n }) => {
      const label = `${kind}#${n}`;
      const root = join(base, `copy-${(copies += 1)}`);
      let { result: r } = await runTraced(root, createArgs(), { kill: { kind, n } });
      // Why: 16 births run at once, so how many thread-pool wake-up writes there are varies a
      // little from run to run; a late write ordinal may lie past this run's last write.
      for (let m = Math.floor(n * 0.85); kind === 'write' && !wasKilled(r) && m > 0; m = Math.floor(m * 0.85)) {
        await removeDir(root);
        ({ result: r } = await runTraced(root, createArgs(), { kill: { kind, n: m } }));
      }
      expect(wasKilled(r), `${label}: expected a SIGKILL, got ${r.code}/${r.signal}: ${r.stderr}`).toBe(true);
      if (await exists(join(root, 'crash'))) {
        // The run appeared: then whole, with nothing to repair.
        expect(await exists(join(root, 'crash', 'run.json')), `${label}: a run directory without run.json`).toBe(true);
        await expectConsistent(root, label, true);
        outcome.whole += 1;
      } else {
        // No run at all: `tq runs` lists none; re-running the create makes it and cleans up.
        const leftover = (await ls(root)).filter((name) => name.startsWith('.crash.creating-'));
        outcome.leftovers += leftover.length;
        const runs = await runTq(root, ['runs', '--json']);
        expect(runs.code, `${label}: tq runs\n${runs.stderr}`).toBe(0);
        expect((JSON.parse(runs.stdout) as { runs: unknown[] }).runs, `${label}: tq runs`).toEqual([]);
        const again = await runTq(root, createArgs());
        expect(again.code, `${label}: re-create\n${again.stderr}`).toBe(0);
        await expectConsistent(root, `${label} re-created`, true);
        outcome.none += 1;
      }
      expect(await readdir(root), `${label}: what is left under the root`).toEqual(['crash']);
      await removeDir(root);
    });
    // Past the last call of each kind, the create survives untouched.
    for (const kind of KINDS) {
      const root = join(base, `beyond-${kind}`);
      const { result: r } = await runTraced(root, createArgs(), { kill: { kind, n: counts[kind] + (kind === 'write' ? 200 : 1) } });
      expect(r.code, `${kind} past the last call: ${r.stderr}`).toBe(0);
      await expectConsistent(root, `${kind} survived`, true);
    }
    console.log(
      `crash-midway create (${ITEMS} items): ${jobs.length} crashes (rename/link/unlink/write of ${counts.rename}/${counts.link}/${counts.unlink}/${counts.write} calls, ` +
        `${PER_KIND} spread per kind): ${outcome.whole} left the whole run, ${outcome.none} no run (${outcome.leftovers} hidden build directories, removed by the re-create); ` +
        `never a partial run; each item exactly once after; ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  });
});
