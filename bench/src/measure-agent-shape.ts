/**
 * Figure 7: agent-like jobs. Each job waits 50 ms (an agent call, not CPU), 16 workers, 1,000
 * tickets: how much wall time the queue adds per ticket over the ideal 1,000 × 50 / 16 ms, next
 * to BullMQ's; and what the `tq work` runner adds per ticket over running the same command bare.
 */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchOptions } from './bench-options.js';
import { startChild, numField, type Child } from './child-rpc.js';
import type { LifecycleEnv } from './measure-lifecycle.js';
import { startRedis, type RedisHandle } from './redis-server.js';
import { ratioRow, skippedRow, type Figure, type Row } from './report.js';
import { median } from './stats.js';
import { checkOk, timeNode, timeShell } from './spawn-timed.js';
import { makeTempDir, removeDir } from './temp-dir.js';
import { addTickets, createRun, itemsOf, TQ_BIN } from './ticketq.js';
import { PAYLOAD, payloadItems } from './payload.js';

type ShapeSystem = { key: string; label: string; kind: 'ticketq' | 'bullmq'; durability: 'none' | 'full' };

const SHAPE_SYSTEMS: ShapeSystem[] = [
  { key: 'tq', label: "ticketq (durability 'none'), 16 claim loops in 1 process", kind: 'ticketq', durability: 'none' },
  { key: 'bullmq', label: 'BullMQ + Redis (no persistence), concurrency 16', kind: 'bullmq', durability: 'none' },
  { key: 'tqfull', label: "ticketq (durability 'full'), 16 claim loops in 1 process", kind: 'ticketq', durability: 'full' },
  { key: 'bullmqaof', label: 'BullMQ + Redis (appendfsync always), concurrency 16', kind: 'bullmq', durability: 'full' },
];

/** Wall ms of create + process for one round of one system. */
async function shapeRound(sys: ShapeSystem, opts: BenchOptions): Promise<number> {
  const dir = await makeTempDir(`shape-${sys.key}`);
  let child: Child | undefined;
  let redis: RedisHandle | undefined;
  try {
    child = sys.kind === 'bullmq' ? await startChild('bullmq-worker') : await startChild('lifecycle-worker');
    if (sys.kind === 'bullmq') {
      redis = await startRedis({ persistence: sys.durability === 'full' ? 'always' : 'none', dir });
      await child.call({ cmd: 'open', port: redis.port, queue: 'shape', concurrency: opts.shapeWorkers, jobMs: opts.shapeJobMs });
    } else {
      await createRun(dir, 'shape', { pipeline: { stages: { work: {} }, cascade: [] }, durability: sys.durability });
      await child.call({ cmd: 'open', system: 'ticketq', root: dir, runId: 'shape', durability: sys.durability, worker: 'w', concurrency: opts.shapeWorkers, jobMs: opts.shapeJobMs });
    }
    const t0 = performance.now();
    await child.call({ cmd: 'create', count: opts.shapeTickets });
    const done = await child.call({ cmd: 'process', count: opts.shapeTickets });
    const ms = performance.now() - t0;
    if (numField(done, 'processed') !== opts.shapeTickets) throw new Error(`${sys.label}: processed ${numField(done, 'processed')} of ${opts.shapeTickets}`);
    return ms;
  } finally {
    await child?.stop();
    await redis?.stop();
    await removeDir(dir);
  }
}

/** The program `tq work` runs per ticket, and the bare loop runs as often: copy stdin to stdout. */
const ECHO = "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>process.stdout.write(s))";

interface RunnerSample {
  tqMs: number;
  tqCpuMs: number;
  bareMs: number;
  bareCpuMs: number;
}

/**
 * `tq work --until-empty` over `count` tickets, and a bash loop running the program as often:
 * wall and CPU time of each (CPU includes the programs: both wait for them). `bareFirst`
 * alternates the order between rounds.
 */
async function runnerRound(count: number, bareFirst: boolean): Promise<RunnerSample> {
  const root = await makeTempDir('work');
  try {
    const ctx = await createRun(root, 'w', { pipeline: { stages: { work: {} }, cascade: [] } });
    await addTickets(ctx, 'work', itemsOf(payloadItems(count)));
    const input = join(root, 'input.json');
    await writeFile(input, JSON.stringify(PAYLOAD));
    const bare = (): { ms: number; cpuMs: number } => {
      const r = timeShell(`for i in $(seq ${count}); do "$0" -e "$1" < "$2" || exit 1; done`, [process.execPath, ECHO, input]);
      if (r.status !== 0 || !Number.isFinite(r.ms)) throw new Error(`the bare loop exited ${r.status}`);
      return r;
    };
    const b1 = bareFirst ? bare() : undefined;
    const tq = checkOk(timeNode([TQ_BIN, '--root', root, 'work', 'w', '--stage', 'work', '--until-empty', '--poll', '50ms', '--', process.execPath, '-e', ECHO], { discardStdout: true }), 'tq work');
    const completed = (await readdir(join(root, 'w', 'completed', 'work'))).filter((f) => f.endsWith('.json')).length;
    if (completed !== count) throw new Error(`tq work completed ${completed} of ${count}`);
    const b = b1 ?? bare();
    return { tqMs: tq.ms, tqCpuMs: tq.cpuMs, bareMs: b.ms, bareCpuMs: b.cpuMs };
  } finally {
    await removeDir(root);
  }
}

export async function measureAgentShape(opts: BenchOptions, env: LifecycleEnv): Promise<Figure> {
  const n = opts.shapeTickets;
  const ideal = (n * opts.shapeJobMs) / opts.shapeWorkers;
  const walls = new Map<string, number[]>();
  const failures = new Map<string, string>();
  const bullmqProblem = env.peers.bullmq ?? env.redisProblem;
  const workCount = opts.quick ? 20 : 50;
  const runner: RunnerSample[] = [];
  for (let round = 0; round < opts.shapeRounds; round += 1) {
    for (const sys of SHAPE_SYSTEMS) {
      if ((sys.kind === 'bullmq' && bullmqProblem) || failures.has(sys.key)) continue;
      try {
        const ms = await shapeRound(sys, opts);
        walls.set(sys.key, [...(walls.get(sys.key) ?? []), ms]);
        env.log(`  shape round ${round + 1} ${sys.label}: ${Math.round(ms)} ms (ideal ${Math.round(ideal)} ms)`);
      } catch (err) {
        failures.set(sys.key, err instanceof Error ? (err.message.split('\n')[0] ?? 'failed') : String(err));
        env.log(`  shape ${sys.label}: FAILED ${failures.get(sys.key)}`);
      }
    }
    try {
      const r = await runnerRound(workCount, round % 2 === 1);
      runner.push(r);
      env.log(`  tq work round ${round + 1}: ${Math.round(r.tqMs)} ms (CPU ${Math.round(r.tqCpuMs)} ms) vs bare loop ${Math.round(r.bareMs)} ms (CPU ${Math.round(r.bareCpuMs)} ms) for ${workCount} runs`);
    } catch (err) {
      failures.set('runner', err instanceof Error ? (err.message.split('\n')[0] ?? 'failed') : String(err));
    }
  }
  const overhead = (key: string): number => (median(walls.get(key) ?? []) - ideal) / n;
  const why = (key: string): string | undefined => (key.startsWith('bullmq') ? bullmqProblem : undefined) ?? failures.get(key) ?? ((walls.get(key) ?? []).length === 0 ? 'no samples' : undefined);
  const rows: Row[] = [];
  for (const [a, b] of [['tq', 'bullmq'], ['tqfull', 'bullmqaof']] as const) {
    const la = SHAPE_SYSTEMS.find((s) => s.key === a)?.label ?? a;
    const lb = SHAPE_SYSTEMS.find((s) => s.key === b)?.label ?? b;
    const problem = why(a) ?? why(b);
    rows.push(problem ? { ...skippedRow(`queue overhead per ticket: ${la}`, `not run: ${problem}`), baselineLabel: lb } : ratioRow(`queue overhead per ticket: ${la}`, overhead(a), 'ms', lb, overhead(b)));
  }
  const runnerProblem = failures.get('runner') ?? (runner.length === 0 ? 'no samples' : undefined);
  const med = (pick: (r: RunnerSample) => number): number => median(runner.map(pick));
  if (runnerProblem) rows.push(skippedRow('`tq work` runner overhead per ticket', `not run: ${runnerProblem}`));
  else {
    rows.push({ label: '`tq work` runner overhead per ticket, wall time', value: (med((r) => r.tqMs) - med((r) => r.bareMs)) / workCount, unit: 'ms', note: `${workCount} runs: ${Math.round(med((r) => r.tqMs))} ms with tq work vs ${Math.round(med((r) => r.bareMs))} ms bare` });
    rows.push({ label: '`tq work` runner overhead per ticket, CPU time', value: (med((r) => r.tqCpuMs) - med((r) => r.bareCpuMs)) / workCount, unit: 'ms', note: `${Math.round(med((r) => r.tqCpuMs))} ms vs ${Math.round(med((r) => r.bareCpuMs))} ms, the programs included` });
    rows.push({ label: 'the program run bare (node -e, stdin to stdout), per run, wall time', value: med((r) => r.bareMs) / workCount, unit: 'ms' });
  }
  return {
    id: '7',
    title: '7. Agent-like jobs',
    description:
      `${n.toLocaleString('en-US')} tickets, ${opts.shapeWorkers} workers, each job waiting ${opts.shapeJobMs} ms (an agent call: waiting, not CPU), on the project disk, median of ${opts.shapeRounds} rounds. ` +
      `Queue overhead per ticket = (wall time of create + process − the ideal ${n.toLocaleString('en-US')} × ${opts.shapeJobMs} / ${opts.shapeWorkers} = ${Math.round(ideal)} ms) ÷ ${n.toLocaleString('en-US')}: what the queue adds to a batch of agent jobs, amortized per ticket. ` +
      `The \`tq work\` rows run \`tq work <run> --stage work --until-empty -- node -e <copy stdin to stdout>\` (concurrency 1, the default durability) over ${workCount} tickets, and a bash loop running the same program ${workCount} times with the input on stdin; ` +
      'the runner overhead is the difference ÷ the runs (it includes starting `tq` once, claiming, heartbeats, writing the log and submitting), in wall time and in CPU time (bash\'s `time`: the process and the programs it waited for; the two are run in alternating order).',
    rows,
    notes: [],
  };
}
