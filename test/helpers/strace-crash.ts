import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect } from 'vitest';
import { mapLimit } from '../../src/core/store/run-pool.js';
import { BIN } from './build-dist.js';
import { spawnCollect, type BinResult } from './run-bin.js';
import { waitFor } from './wait-for.js';

export const STRACE = '/usr/bin/strace';
export type SyscallKind = 'rename' | 'link' | 'unlink' | 'write';
export const KINDS: readonly SyscallKind[] = ['rename', 'link', 'unlink', 'write'];

/**
 * Fail loudly (never skip) when strace is missing or cannot trace here: the crash tests would
 * otherwise prove nothing while looking green.
 */
export function requireStrace(): void {
  if (!existsSync(STRACE)) {
    throw new Error(`${STRACE} is not installed: the crash-midway tests need it (apt-get install strace)`);
  }
  try {
    execFileSync(STRACE, ['-f', '-qq', '-o', '/dev/null', '-e', 'trace=write', 'true'], { stdio: 'pipe' });
  } catch (err) {
    throw new Error(`strace is installed but cannot trace processes here (ptrace refused?): ${(err as Error).message}`);
  }
}

/**
 * The environment of every traced run. Metadata calls run on the main thread; UV_THREADPOOL_SIZE=1
 * puts every asynchronous one (file creation and data) on one libuv thread, so strace's
 * per-thread `when=N` counter means "the Nth such call" of the operation; io_uring would bypass
 * the syscalls strace sees.
 */
// Why TQ_CODE_CACHE=0: the first tq run after a build writes the V8 code cache at exit (a write
// and a rename); a probe that happens to be that run would count calls the runs after it never make.
export const TRACE_ENV: NodeJS.ProcessEnv = { UV_USE_IO_URING: '0', UV_THREADPOOL_SIZE: '1', TQ_DURABILITY: 'none', TQ_CODE_CACHE: '0' };

const PRELOAD = fileURLToPath(new URL('../fixtures/load-tq-then-wait.mjs', import.meta.url));

export interface TracedCall {
  kind: SyscallKind;
  /** False for the 8-byte eventfd wake-ups libuv's thread writes after each request. */
  data: boolean;
  /** The call's arguments as strace printed them (to find a call by the path it names). */
  args: string;
}

export interface TracedRun {
  result: BinResult;
  /** Traced calls, per kind those of the thread that makes them (when a trace file was asked for). */
  calls: TracedCall[];
  /** strace's output (when a trace file was asked for): an injected fault shows as `(INJECTED)`. */
  trace: string;
}

function tasksTraced(pid: number): boolean {
  try {
    const tasks = readdirSync(`/proc/${pid}/task`);
    return tasks.length > 0 && tasks.every((t) => /TracerPid:\s*[1-9]/.test(readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8')));
  } catch {
    return false;
  }
}

/**
 * Run the real `node bin/tq.js --root ROOT ...args` with strace attached, optionally SIGKILLed
 * at the Nth call of one kind. The preload loads every module first and waits; strace attaches
 * (-p) only then. Why: module loading makes a number of thread-pool wake-up writes that varies
 * from run to run by hundreds, so counted from process start the Nth write would be a different
 * call every time. Counted from after loading, the Nth call is the same call on every run.
 * `strace`: more strace options (a fault to inject).
 */
export async function runTraced(root: string, args: string[], opts: { kill?: { kind: SyscallKind; n: number }; traceFile?: string; strace?: string[] } = {}): Promise<TracedRun> {
  const child = spawn(process.execPath, ['--import', pathToFileURL(PRELOAD).href, BIN, '--root', root, ...args], { env: { ...process.env, ...TRACE_ENV }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  try {
    await waitFor(() => stdout.startsWith('loaded\n') || child.exitCode !== null, 30_000, 'tq to load');
    const pid = child.pid;
    if (pid === undefined || child.exitCode !== null) throw new Error(`tq exited before it was traced: ${stderr}`);
    const straceArgs = ['-f', '-qq', '-p', String(pid), '-o', opts.traceFile ?? '/dev/null', '-e', 'trace=rename,link,unlink,write'];
    if (opts.kill) straceArgs.push('-e', `inject=${opts.kill.kind}:signal=KILL:when=${opts.kill.n}`);
    // More strace options (a fault to inject: `-e trace=X -e inject=X:error=...`; -e trace accumulates).
    if (opts.strace) straceArgs.push(...opts.strace);
    const tracer = spawnCollect(STRACE, straceArgs);
    await waitFor(() => tasksTraced(pid), 10_000, 'strace to attach to every thread');
    child.stdin.end('go\n');
    const { code, signal } = await closed;
    const t = await tracer;
    if (t.code !== 0 && !opts.kill) throw new Error(`strace failed: ${t.stderr}`);
    const trace = opts.traceFile ? await readFile(opts.traceFile, 'utf8') : '';
    const calls = opts.traceFile ? await fsThreadCalls(opts.traceFile) : [];
    return { result: { code, signal, stdout: stdout.slice('loaded\n'.length), stderr, timedOut: false }, calls, trace };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

/**
 * The traced calls strace's per-thread `when=N` counters see, per kind. Metadata calls (rename,
 * link, unlink) are made synchronously on the main thread, file data is written on the libuv
 * thread: for each kind, the calls of the one thread that makes that kind. A kind made on two
 * threads would make "the Nth call" ambiguous, so that fails loudly.
 */
async function fsThreadCalls(traceFile: string): Promise<TracedCall[]> {
  const lines = (await readFile(traceFile, 'utf8')).split('\n');
  await rm(traceFile, { force: true });
  const perTid = new Map<string, TracedCall[]>();
  let writerTid: string | undefined;
  for (const line of lines) {
    const entry = /^(\d+)\s+(rename|link|unlink|write)\((.*)$/.exec(line);
    if (!entry) continue;
    const tid = entry[1] as string;
    const calls = perTid.get(tid) ?? [];
    const data = entry[2] !== 'write' || !/^\d+, "\\1\\0\\0\\0\\0\\0\\0\\0", 8/.test(entry[3] as string);
    // The file-writing thread writes file data (the main thread writes only stdout and stderr).
    if (entry[2] === 'write' && data && !/^(1|2), /.test(entry[3] as string)) writerTid ??= tid;
    calls.push({ kind: entry[2] as SyscallKind, data, args: entry[3] as string });
    perTid.set(tid, calls);
  }
  const out: TracedCall[] = [];
  for (const kind of ['rename', 'link', 'unlink'] as const) {
    const threads = [...perTid].filter(([, calls]) => calls.some((c) => c.kind === kind));
    if (threads.length > 1) throw new Error(`${kind} calls were made on ${threads.length} threads (${threads.map(([t]) => t).join(', ')}): the Nth call is ambiguous`);
    for (const [, calls] of threads) out.push(...calls.filter((c) => c.kind === kind));
  }
  if (writerTid !== undefined) out.push(...(perTid.get(writerTid) ?? []).filter((c) => c.kind === 'write'));
  return out;
}

/** Count the calls of each kind a traced run made on its file-operation thread. */
export function countCalls(calls: TracedCall[]): Record<SyscallKind, number> {
  const counts: Record<SyscallKind, number> = { rename: 0, link: 0, unlink: 0, write: 0 };
  for (const c of calls) counts[c.kind] += 1;
  return counts;
}

/** The ordinals (1-based, among every traced write) of the writes that wrote data, not wake-ups. */
export function dataWriteOrdinals(calls: TracedCall[]): number[] {
  const ordinals: number[] = [];
  let ordinal = 0;
  for (const c of calls) if (c.kind === 'write') ordinal += 1, c.data && ordinals.push(ordinal);
  return ordinals;
}

/** Kill points for a long run: at most `perKind` renames, links, unlinks and data writes each, spread over the run. */
export function spreadCrashJobs(counts: Record<SyscallKind, number>, dataWrites: number[], perKind: number): { kind: SyscallKind; n: number }[] {
  const jobs: { kind: SyscallKind; n: number }[] = [];
  for (const kind of ['rename', 'link', 'unlink'] as const) {
    for (const n of spread(Array.from({ length: counts[kind] }, (_, i) => i + 1), perKind)) jobs.push({ kind, n });
  }
  for (const n of spread(dataWrites, perKind)) jobs.push({ kind: 'write', n });
  return jobs;
}

/** Did the process die by the injected SIGKILL? */
export function wasKilled(r: BinResult): boolean {
  return r.signal === 'SIGKILL' || r.code === 137;
}

/** Pick at most `max` ordinals spread over the list, always including the first and last. */
export function spread(list: number[], max: number): number[] {
  if (list.length <= max) return list;
  const picked = new Set<number>();
  for (let i = 0; i < max; i += 1) picked.add(list[Math.round((i * (list.length - 1)) / (max - 1))] as number);
  return [...picked];
}

/**
 * For a crash suite: check strace is there, build dist/, and run the in-process CLI without
 * fsync (TQ_DURABILITY=none) until `restore` is called. Returns `restore`.
 */
export async function prepareCrashSuite(ensureBuilt: () => Promise<void>): Promise<() => void> {
  requireStrace();
  await ensureBuilt();
  const saved = process.env.TQ_DURABILITY;
  process.env.TQ_DURABILITY = 'none';
  return () => {
    if (saved === undefined) delete process.env.TQ_DURABILITY;
    else process.env.TQ_DURABILITY = saved;
  };
}

/** What crashAtEveryStep did: kills per kind, and the file-data writes among the probe's calls. */
export interface CrashSweep {
  runs: number;
  crashed: Record<SyscallKind, number>;
  dataWrites: number;
}

/**
 * Run `args` once per crash point, each on a fresh copy from `copy()`, killed by strace at that
 * call: every rename, link and unlink (N = 1 .. one past the last, which must survive), every
 * write of file data (it leaves an empty file behind: the interesting crash), a sample of the
 * thread's eventfd wake-up writes (each the same crash point as the next file call, already
 * covered) and one past the last write. After a kill `recover(root, n, label)` runs; after
 * every run `check(root, label)`. Asserts the process died at every point up to its last call
 * of each kind and survived past it. `calls` are those of an uninterrupted traced probe.
 */
export async function crashAtEveryStep(
  calls: TracedCall[],
  args: string[],
  opts: { copy: () => Promise<string>; recover: (root: string, n: number, label: string) => Promise<void>; check: (root: string, label: string) => Promise<void>; wakeupSample: number },
): Promise<CrashSweep> {
  const counts = countCalls(calls);
  const crashed: Record<SyscallKind, number> = { rename: 0, link: 0, unlink: 0, write: 0 };
  const survivedAt: Partial<Record<SyscallKind, number>> = {};
  const jobs: { kind: SyscallKind; n: number }[] = [];
  for (const kind of ['rename', 'link', 'unlink'] as const) for (let n = 1; n <= counts[kind] + 1; n += 1) jobs.push({ kind, n });
  let ordinal = 0;
  for (const c of calls) {
    if (c.kind !== 'write') continue;
    ordinal += 1;
    if (c.data || ordinal % opts.wakeupSample === 0) jobs.push({ kind: 'write', n: ordinal });
  }
  jobs.push({ kind: 'write', n: counts.write + 1 });
  await mapLimit(jobs, 2, async ({ kind, n }) => {
    const label = `${kind}#${n}`;
    const root = await opts.copy();
    const { result: r } = await runTraced(root, args, { kill: { kind, n } });
    if (wasKilled(r)) {
      crashed[kind] += 1;
      await opts.recover(root, n, label);
    } else {
      expect(r.code, `${label}: ${r.stderr}`).toBe(0);
      survivedAt[kind] = Math.min(survivedAt[kind] ?? Infinity, n);
    }
    await opts.check(root, label);
    await rm(root, { recursive: true, force: true });
  });
  const dataWrites = calls.filter((c) => c.kind === 'write' && c.data).length;
  for (const kind of KINDS) {
    expect(crashed[kind], `${kind}: crashes`).toBe(jobs.filter((j) => j.kind === kind).length - 1);
    expect(survivedAt[kind], `${kind}: survived at`).toBe(counts[kind] + 1);
  }
  expect(crashed.write).toBeGreaterThanOrEqual(dataWrites);
  return { runs: jobs.length, crashed, dataWrites };
}
