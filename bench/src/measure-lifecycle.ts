import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchOptions } from './bench-options.js';
import { setUpFilesystems, type BenchFilesystem } from './bench-filesystems.js';
import { startChild, numField, type Child } from './child-rpc.js';
import { SYSTEMS, SYSTEM_NOTES, type System } from './lifecycle-systems.js';
import { fsOpsTable, lifecycleData, lifecycleRows, lifecycleTable, type Samples, type Sample } from './lifecycle-rows.js';
import { measureFsOps } from './measure-fs-ops.js';
import type { PeerStatus } from './peer-setup.js';
import { sampleProc } from './proc-sample.js';
import { startRedis, type RedisHandle } from './redis-server.js';
import type { Figure } from './report.js';
import { benchParent, makeTempDir, removeLater } from './temp-dir.js';
import { createRun } from './ticketq.js';
import { PAYLOAD_BYTES } from './payload.js';

export interface LifecycleEnv {
  peers: PeerStatus;
  /** Why redis-server cannot run (undefined when it can). */
  redisProblem?: string;
  log: (line: string) => void;
}

interface Started {
  children: Child[];
  redis?: RedisHandle;
}

async function startSystem(sys: System, dir: string, opts: BenchOptions): Promise<Started> {
  const children: Child[] = [];
  if (sys.kind === 'bullmq') {
    const redis = await startRedis({ persistence: sys.durability === 'full' ? 'always' : 'none', dir });
    const c = await startChild('bullmq-worker');
    children.push(c);
    await c.call({ cmd: 'open', port: redis.port, queue: 'bench', concurrency: 16 });
    return { children, redis };
  }
  if (sys.kind === 'plainjob') {
    const c = await startChild('plainjob-worker');
    children.push(c);
    await c.call({ cmd: 'open', file: join(dir, 'queue.db'), synchronous: sys.durability === 'full' ? 'FULL' : 'OFF' });
    return { children };
  }
  await createRun(dir, 'bench', { pipeline: { stages: { work: {} }, cascade: [] }, durability: sys.durability });
  for (let p = 0; p < sys.procs; p += 1) {
    const c = await startChild('lifecycle-worker');
    children.push(c);
    await c.call({ cmd: 'open', system: sys.kind, root: dir, runId: 'bench', durability: sys.durability, worker: `p${p}`, concurrency: opts.tqConcurrency });
  }
  return { children };
}

/** CPU time (µs) of every process the system runs, Redis included. */
async function cpuOf(s: Started): Promise<number> {
  let us = 0;
  for (const c of s.children) us += numField(await c.call({ cmd: 'cpu' }), 'cpuUs');
  if (s.redis) us += sampleProc(s.redis.pid).cpuSeconds * 1e6;
  return us;
}

/**
 * One round of one system: fresh directory, fresh processes; n tickets created then processed.
 * The directory is not deleted here (see removeLater and the filesystem set-up).
 */
async function runOnce(sys: System, n: number, fsys: BenchFilesystem, opts: BenchOptions): Promise<Sample> {
  const dir = await makeTempDir(sys.key, fsys.base);
  if (fsys.key === 'disk') removeLater(dir);
  const started = await startSystem(sys, dir, opts);
  const { children } = started;
  try {
    const shares = Array.from({ length: children.length }, (_, i) => Math.floor(n / children.length) + (i < n % children.length ? 1 : 0));
    const cpu0 = await cpuOf(started);
    const t0 = performance.now();
    await Promise.all(children.map((c, i) => c.call({ cmd: 'create', count: shares[i] as number })));
    const t1 = performance.now();
    const done = await Promise.all(children.map((c) => c.call({ cmd: 'process', count: n })));
    const t2 = performance.now();
    const cpu1 = await cpuOf(started);
    const processed = done.reduce((s, m) => s + numField(m, 'processed'), 0);
    if (processed !== n) throw new Error(`${sys.label}: processed ${processed} of ${n}`);
    if (sys.kind !== 'bullmq' && sys.kind !== 'plainjob') {
      // Why: a fast queue that loses or duplicates tickets would be a wrong benchmark.
      const completed = (await readdir(join(dir, 'bench', 'completed', 'work'))).filter((f) => f.endsWith('.json')).length;
      if (completed !== n) throw new Error(`${sys.label}: ${completed} files in completed/ instead of ${n}`);
    }
    return { opsPerSec: (n / (t2 - t0)) * 1000, createMs: t1 - t0, processMs: t2 - t1, cpuUsPerTicket: (cpu1 - cpu0) / n };
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    await started.redis?.stop();
  }
}

function unavailable(sys: System, env: LifecycleEnv): string | undefined {
  if (sys.kind === 'bullmq') return env.peers.bullmq ?? env.redisProblem;
  if (sys.kind === 'plainjob') return env.peers.plainjob;
  return undefined;
}

/** Every round of every system on one filesystem, rounds interleaved and their order rotated. */
async function measureOn(fsys: BenchFilesystem, opts: BenchOptions, env: LifecycleEnv, samples: Samples, failures: Map<string, string>): Promise<void> {
  for (let round = 0; round < opts.lifecycleRounds; round += 1) {
    // Why: rotate the order each round so that slow drift on a shared machine hits every system alike.
    const order = SYSTEMS.map((_, i) => SYSTEMS[(i + round) % SYSTEMS.length] as System);
    for (const sys of order) {
      const key = `${fsys.key}/${sys.key}`;
      if (unavailable(sys, env) || failures.has(key)) continue;
      const n = sys.durability === 'full' ? opts.durableTickets : opts.lifecycleTickets;
      try {
        const s = await runOnce(sys, n, fsys, opts);
        samples.set(key, [...(samples.get(key) ?? []), s]);
        env.log(`  [${fsys.key}] round ${round + 1}/${opts.lifecycleRounds} ${sys.label}: ${Math.round(s.opsPerSec)} tickets/s, ${Math.round(s.cpuUsPerTicket)} µs CPU/ticket (create ${Math.round(s.createMs)} ms, claim+submit ${Math.round(s.processMs)} ms)`);
      } catch (err) {
        failures.set(key, err instanceof Error ? (err.message.split('\n')[0] ?? 'failed') : String(err));
        env.log(`  [${fsys.key}] ${sys.label}: FAILED ${failures.get(key)}`);
      }
    }
  }
}

export async function measureLifecycle(opts: BenchOptions, env: LifecycleEnv): Promise<Figure> {
  const samples: Samples = new Map();
  const failures = new Map<string, string>();
  for (const sys of SYSTEMS) {
    const u = unavailable(sys, env);
    if (u) for (const f of ['disk', 'ext4j', 'tmpfs']) failures.set(`${f}/${sys.key}`, u);
  }
  const inodes = Math.max(200_000, Math.ceil(1.5 * opts.lifecycleRounds * (12 * opts.lifecycleTickets + 4 * opts.durableTickets)));
  const filesystems = setUpFilesystems(benchParent(), inodes, opts.filesystems, env.log);
  const wanted = filesystems.list.filter((f) => opts.filesystems.has(f.key));
  const fsOps = new Map<string, Map<string, number>>();
  try {
    for (const fsys of wanted) {
      if (!fsys.base) continue;
      await measureOn(fsys, opts, env, samples, failures);
      // After the rounds: its unlinks must not tax them.
      const dir = await makeTempDir('fsops', fsys.base);
      if (fsys.key === 'disk') removeLater(dir);
      fsOps.set(fsys.key, measureFsOps(dir, opts.quick ? 500 : 2000, opts.quick ? 1 : 3));
    }
  } finally {
    filesystems.tearDown();
  }
  const n = opts.lifecycleTickets;
  return {
    id: '1',
    title: '1. Lifecycle throughput',
    description:
      `create → claim → submit of ${n.toLocaleString('en-US')} tickets (durability 'full' rows: ${opts.durableTickets.toLocaleString('en-US')}) whose input is a ${PAYLOAD_BYTES}-byte JSON object (the same for every system; each item has its own \`id\`, as real work items do, so ticketq records each item's key at birth); ` +
      `tickets per second over the whole lifecycle (all created, then all claimed and submitted) and CPU time per ticket (user + system of every process the system runs, Redis included), ` +
      `median of ${opts.lifecycleRounds} rounds, on ${wanted.map((f) => (f.problem ? `${f.label} (not run: ${f.problem})` : f.label)).join('; ')}. ` +
      'On each filesystem the rounds of all systems are interleaved (order rotated every round), every round runs in a fresh sibling directory, and no directory is deleted until every round on that filesystem is done ' +
      '(the project disk\'s are deleted when the whole bench ends; the loop ext4 and the tmpfs are unmounted). Systems are compared at equal durability. ' +
      SYSTEM_NOTES.join(' '),
    rows: lifecycleRows(wanted, samples, failures),
    notes: [
      'CPU per ticket beside tickets/s: a system can be slow because the filesystem makes it wait (tickets/s low, CPU low) or because its code and system calls cost CPU (both). On 2 shared cores, the CPU column is the steadier one.',
    ],
    extra: `${lifecycleTable(wanted, samples, failures)}\n${fsOpsTable(wanted, fsOps)}`,
    data: lifecycleData(wanted, samples, fsOps),
  };
}
