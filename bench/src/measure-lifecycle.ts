import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchOptions } from './bench-options.js';
import { startChild, numField, type Child } from './child-rpc.js';
import type { PeerStatus } from './peer-setup.js';
import type { RedisHandle } from './redis-server.js';
import { ratioRow, skippedRow, type Figure, type Row, type Target } from './report.js';
import { median } from './stats.js';
import { makeTempDir, removeDir } from './temp-dir.js';
import { createRun } from './ticketq.js';
import { PAYLOAD_BYTES } from './payload.js';

type Kind = 'ticketq' | 'ticketq-sync' | 'raw' | 'raw-fsync' | 'protocol' | 'bullmq' | 'plainjob';

interface System {
  key: string;
  label: string;
  kind: Kind;
  procs: number;
  durability: 'none' | 'full';
}

const SYSTEMS: System[] = [
  { key: 'tq1', label: 'ticketq, 1 process', kind: 'ticketq', procs: 1, durability: 'none' },
  { key: 'tq2', label: 'ticketq, 2 processes', kind: 'ticketq', procs: 2, durability: 'none' },
  { key: 'tqsync', label: 'ticketq, 1 process, all-synchronous Fs (experiment)', kind: 'ticketq-sync', procs: 1, durability: 'none' },
  { key: 'tqfull', label: "ticketq, 1 process, durability 'full' (fsync)", kind: 'ticketq', procs: 1, durability: 'full' },
  { key: 'raw1', label: 'raw floor, 1 process', kind: 'raw', procs: 1, durability: 'none' },
  { key: 'proto1', label: "protocol floor, 1 process (ticketq's file operations, no code)", kind: 'protocol', procs: 1, durability: 'none' },
  { key: 'raw2', label: 'raw floor, 2 processes', kind: 'raw', procs: 2, durability: 'none' },
  { key: 'rawfsync', label: 'raw floor + fsync, 1 process', kind: 'raw-fsync', procs: 1, durability: 'full' },
  { key: 'bullmq', label: 'BullMQ + Redis, concurrency 16', kind: 'bullmq', procs: 1, durability: 'none' },
  { key: 'plainjob', label: 'plainjob + better-sqlite3', kind: 'plainjob', procs: 1, durability: 'none' },
];

interface Sample {
  opsPerSec: number;
  createMs: number;
  processMs: number;
}

export interface LifecycleEnv {
  peers: PeerStatus;
  redis?: RedisHandle;
  redisProblem?: string;
  log: (line: string) => void;
}

/** One round of one system: fresh directory, fresh processes; N tickets created then processed. */
async function runOnce(sys: System, n: number, opts: BenchOptions, env: LifecycleEnv, round: number): Promise<Sample> {
  const dir = await makeTempDir(sys.key);
  const children: Child[] = [];
  try {
    const shares = Array.from({ length: sys.procs }, (_, i) => Math.floor(n / sys.procs) + (i < n % sys.procs ? 1 : 0));
    if (sys.kind === 'ticketq' || sys.kind === 'ticketq-sync' || sys.kind === 'raw' || sys.kind === 'raw-fsync' || sys.kind === 'protocol') {
      await createRun(dir, 'bench', { pipeline: { stages: { work: {} }, cascade: [] }, durability: sys.durability });
      for (let p = 0; p < sys.procs; p += 1) {
        const c = await startChild('lifecycle-worker');
        children.push(c);
        await c.call({ cmd: 'open', system: sys.kind, root: dir, runId: 'bench', durability: sys.durability, worker: `p${p}`, concurrency: opts.tqConcurrency });
      }
    } else if (sys.kind === 'bullmq') {
      if (!env.redis) throw new Error('no redis');
      await env.redis.flushAll();
      const c = await startChild('bullmq-worker');
      children.push(c);
      await c.call({ cmd: 'open', port: env.redis.port, queue: `bench-${round}`, concurrency: 16 });
    } else {
      const c = await startChild('plainjob-worker');
      children.push(c);
      await c.call({ cmd: 'open', file: join(dir, 'queue.db') });
    }
    const t0 = performance.now();
    await Promise.all(children.map((c, i) => c.call({ cmd: 'create', count: shares[i] as number })));
    const t1 = performance.now();
    const done = await Promise.all(children.map((c) => c.call({ cmd: 'process', count: n })));
    const t2 = performance.now();
    const processed = done.reduce((s, m) => s + numField(m, 'processed'), 0);
    if (processed !== n) throw new Error(`${sys.label}: processed ${processed} of ${n}`);
    if (sys.kind !== 'bullmq' && sys.kind !== 'plainjob') {
      // Why: a fast queue that loses or duplicates tickets would be a wrong benchmark.
      const completed = (await readdir(join(dir, 'bench', 'completed', 'work'))).filter((f) => f.endsWith('.json')).length;
      if (completed !== n) throw new Error(`${sys.label}: ${completed} files in completed/ instead of ${n}`);
    }
    return { opsPerSec: (n / (t2 - t0)) * 1000, createMs: t1 - t0, processMs: t2 - t1 };
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    await removeDir(dir);
  }
}

function unavailable(sys: System, env: LifecycleEnv): string | undefined {
  if (sys.kind === 'bullmq') return env.peers.bullmq ?? env.redisProblem;
  if (sys.kind === 'plainjob') return env.peers.plainjob;
  return undefined;
}

export async function measureLifecycle(opts: BenchOptions, env: LifecycleEnv): Promise<Figure> {
  const n = opts.lifecycleTickets;
  const samples = new Map<string, Sample[]>(SYSTEMS.map((s) => [s.key, []]));
  const failures = new Map<string, string>();
  for (let round = 0; round < opts.lifecycleRounds; round += 1) {
    // Why: rotate the order each round so that slow drift on a shared machine hits every system alike.
    const order = SYSTEMS.map((_, i) => SYSTEMS[(i + round) % SYSTEMS.length] as System);
    for (const sys of order) {
      if (unavailable(sys, env) || failures.has(sys.key)) continue;
      try {
        const s = await runOnce(sys, n, opts, env, round);
        samples.get(sys.key)?.push(s);
        env.log(`  lifecycle round ${round + 1}/${opts.lifecycleRounds} ${sys.label}: ${Math.round(s.opsPerSec)} tickets/s (create ${Math.round(s.createMs)} ms, claim+submit ${Math.round(s.processMs)} ms)`);
      } catch (err) {
        failures.set(sys.key, err instanceof Error ? err.message.split('\n')[0] ?? 'failed' : String(err));
        env.log(`  lifecycle ${sys.label}: FAILED ${failures.get(sys.key)}`);
      }
    }
  }
  const ops = (key: string): number => median((samples.get(key) ?? []).map((s) => s.opsPerSec));
  const why = (key: string): string | undefined => {
    const sys = SYSTEMS.find((s) => s.key === key) as System;
    const u = unavailable(sys, env) ?? failures.get(key);
    return u ? `not run: ${u}` : undefined;
  };
  const rows: Row[] = [];
  const add = (key: string, baseKey: string, baseLabel: string, target?: Target): void => {
    const sys = SYSTEMS.find((s) => s.key === key) as System;
    const problem = why(key) ?? why(baseKey);
    if (problem) rows.push({ ...skippedRow(sys.label, problem, target), baselineLabel: baseLabel });
    else rows.push(ratioRow(sys.label, ops(key), 'tickets/s', baseLabel, ops(baseKey), target));
  };
  add('tq1', 'bullmq', 'BullMQ + Redis', { text: '≥ 1× BullMQ', on: 'ratio', op: '>=', bound: 1 });
  add('tq1', 'plainjob', 'plainjob', { text: '≥ 1.5× plainjob', on: 'ratio', op: '>=', bound: 1.5 });
  add('tq1', 'raw1', 'raw floor, 1 process', { text: '≥ 0.7× raw floor', on: 'ratio', op: '>=', bound: 0.7 });
  add('tq2', 'raw2', 'raw floor, 2 processes', { text: '≥ 0.7× raw floor', on: 'ratio', op: '>=', bound: 0.7 });
  add('tq2', 'bullmq', 'BullMQ + Redis', { text: '≥ 1× BullMQ', on: 'ratio', op: '>=', bound: 1 });
  add('tq1', 'proto1', 'protocol floor, 1 process');
  add('tqsync', 'tq1', 'ticketq, 1 process (default Fs)');
  add('tqfull', 'rawfsync', 'raw floor + fsync, 1 process');
  add('tqfull', 'tq1', "ticketq, durability 'none'");
  add('bullmq', 'plainjob', 'plainjob');
  for (const key of ['raw1', 'raw2', 'rawfsync', 'proto1', 'plainjob']) {
    const sys = SYSTEMS.find((s) => s.key === key) as System;
    const problem = why(key);
    rows.push(problem ? skippedRow(sys.label, problem) : { label: sys.label, value: ops(key), unit: 'tickets/s' });
  }
  const phase = (key: string): string => {
    const s = samples.get(key) ?? [];
    return s.length === 0 ? 'n/a' : `create ${Math.round(median(s.map((x) => x.createMs)))} ms + claim/submit ${Math.round(median(s.map((x) => x.processMs)))} ms`;
  };
  return {
    id: '1',
    title: '1. Lifecycle throughput',
    description:
      `create → claim → submit of ${n.toLocaleString('en-US')} tickets whose input is the same ${PAYLOAD_BYTES}-byte JSON object; tickets per second over the whole ` +
      `lifecycle (all created, then all claimed and submitted), median of ${opts.lifecycleRounds} rounds. ticketq uses the library API with durability ` +
      `'none' unless stated, ${opts.tqConcurrency} claim/submit loops per process; the raw floor does the same directory moves with bare fs calls ` +
      "(write into pending/, rename into claimed/, rename into completed/) through ticketq's Fs layer (the same synchronous calls ticketq makes), " +
      'no queue logic, same processes and concurrency. The protocol floor makes exactly the file operations of ticketq\'s protocol (4 file creations, 6 renames, ' +
      '1 link, 3 unlinks, 2 reads, 2 lstats per ticket: see bench/src/lifecycle-worker.ts) with none of its code. Every system runs in a sibling directory of one parent. Peers use their bulk-add ' +
      'fast path (BullMQ addBulk in chunks of 1,000; plainjob addMany).',
    rows,
    notes: [
      `Phases (median): ${SYSTEMS.filter((s) => (samples.get(s.key) ?? []).length > 0).map((s) => `${s.label}: ${phase(s.key)}`).join('; ')}.`,
      "Durability is not equal: BullMQ runs on Redis with persistence off (`--save '' --appendonly no`), plainjob uses WAL with synchronous=NORMAL (no fsync per commit), ticketq 'none' never fsyncs, ticketq 'full' fsyncs every file and directory it changes.",
    ],
  };
}
