import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../wait-for.js';

const LIB_WORKER = fileURLToPath(new URL('../../fixtures/claim-race-worker.mjs', import.meta.url));
const CLI_WORKER = fileURLToPath(new URL('../../fixtures/cli-claim-submit-worker.mjs', import.meta.url));

export interface RaceWorker {
  worker: string;
  /** The run root this worker uses (one host's mount). */
  root: string;
  via: 'cli' | 'library';
}

export interface WorkerOutcome extends RaceWorker {
  code: number | null;
  claimed: string[];
  errors: string[];
  stderr: string;
}

/**
 * `n` workers over the two hosts' roots: half on each, and on each host half claim through the
 * CLI (real `tq claim`/`tq submit` processes) and half through the library.
 */
export function workersOverHosts(n: number, rootA: string, rootB: string): RaceWorker[] {
  return Array.from({ length: n }, (_, i) => ({
    worker: `w${i}`,
    root: i < n / 2 ? rootA : rootB,
    via: i % 2 === 0 ? 'library' : 'cli',
  }));
}

export interface TogetherResult {
  code: number | null;
  /** The last stdout line, parsed (the fixture's report), or undefined when there is none. */
  report: unknown;
  stderr: string;
}

/**
 * Run node fixtures (each argv: a script and its arguments) that print "ready" and wait for a
 * line on stdin: start them all, wait until all are ready, let them go together, collect them.
 */
export async function runTogether(argvs: string[][]): Promise<{ results: TogetherResult[]; wallMs: number }> {
  const started = argvs.map((argv) => {
    const child: ChildProcessWithoutNullStreams = spawn(process.execPath, argv, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TQ_DURABILITY: 'none' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const done = new Promise<TogetherResult>((resolve) =>
      child.on('close', (code) => {
        const last = out.trim().split('\n').at(-1) ?? '';
        resolve({ code, report: last.startsWith('{') ? (JSON.parse(last) as unknown) : undefined, stderr: err });
      }),
    );
    return { child, out: () => out, done };
  });
  await waitFor(() => started.every((s) => s.out().startsWith('ready\n') || s.child.exitCode !== null), 30_000, 'all workers ready');
  const t0 = performance.now();
  for (const s of started) s.child.stdin.end('go\n');
  const results = await Promise.all(started.map((s) => s.done));
  return { results, wallMs: performance.now() - t0 };
}

/** Start every worker, wait until all are ready, let them go together, and collect their outcomes. */
export async function runRace(workers: RaceWorker[], runId: string, stage: string): Promise<{ outcomes: WorkerOutcome[]; wallMs: number }> {
  const { results, wallMs } = await runTogether(workers.map((w) => [w.via === 'cli' ? CLI_WORKER : LIB_WORKER, w.root, runId, w.worker, stage]));
  const outcomes = results.map((r, i) => {
    const report = (r.report as { claimed: string[]; errors: string[] } | undefined) ?? { claimed: [], errors: [`no report (exit ${r.code})`] };
    return { ...(workers[i] as RaceWorker), code: r.code, claimed: report.claimed, errors: report.errors, stderr: r.stderr };
  });
  return { outcomes, wallMs };
}

/** How often each ticket id was claimed across all workers. */
export function claimCounts(outcomes: WorkerOutcome[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const o of outcomes) for (const id of o.claimed) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}
