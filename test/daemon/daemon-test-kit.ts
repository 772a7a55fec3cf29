import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { lstat, readFile, readdir, unlink, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunCtx } from '../../src/core/store/run-context.js';
import type { Ticket } from '../../src/core/model/ticket-schema.js';
import type { fixedClock } from '../../src/core/model/clock.js';
import { startDaemon, type Daemon, type DaemonOptions } from '../../src/daemon/start-daemon.js';
import type { DaemonLogEntry } from '../../src/daemon/daemon-log.js';
import { ls } from '../helpers/ticket-files.js';
import { BIN } from '../helpers/build-dist.js';

export interface InProcessDaemon {
  daemon: Daemon;
  logs: DaemonLogEntry[];
  /** Log entries with this action. */
  actions(action: string): DaemonLogEntry[];
}

/** A daemon in this process that only works when the test calls pass(), on the test's clock. */
export async function passDaemon(root: string, clock: ReturnType<typeof fixedClock>, extra: Partial<DaemonOptions> = {}): Promise<InProcessDaemon> {
  const logs: DaemonLogEntry[] = [];
  const daemon = await startDaemon({
    root,
    watch: false,
    loop: false,
    clock,
    durability: 'none',
    settle: { fileMs: 1000, movingMs: 0, takenMs: 5000, tmpMs: 60_000 },
    log: (e) => logs.push(e),
    ...extra,
  });
  return { daemon, logs, actions: (a) => logs.filter((e) => e.action === a) };
}

/**
 * Complete a pending ticket by hand, as a submit would leave it: rename it into completed/, edit
 * its JSON (status, output, and a `submitted` history event: the daemon cascades only tickets
 * that went through a submit, and leaves a ticket merely moved into completed/ to fsck).
 */
export async function completeByHand(ctx: RunCtx, stage: string, id: string, output: Record<string, unknown>): Promise<string> {
  const from = join(ctx.paths.dir, 'pending', stage, `${id}.json`);
  const dir = join(ctx.paths.dir, 'completed', stage);
  await mkdir(dir, { recursive: true });
  const to = join(dir, `${id}.json`);
  const t = JSON.parse(await readFile(from, 'utf8')) as Ticket;
  const history = [...t.history, { at: t.created_at, event: 'submitted', from: 'claimed', to: 'completed', worker_id: 'by-hand' }];
  await writeFile(to, `${JSON.stringify({ ...t, status: 'completed', output_data: output, completed_at: t.created_at, history }, null, 2)}\n`);
  await unlink(from);
  return to;
}

export function workerDir(ctx: RunCtx, worker: string): string {
  return join(ctx.paths.dir, 'claimed', worker);
}

export async function readJson(path: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
}

/** The `error` object of claimed/<worker>/<errorBase>.error.json (`<id>` or `<id>~<tag>.<kind>`: run-names.ts parseAgentFileName). */
export async function errorOf(ctx: RunCtx, worker: string, id: string): Promise<{ code: string; message: string; field: string | null; hint: string | null }> {
  const body = await readJson(join(workerDir(ctx, worker), `${id}.error.json`));
  return body.error as { code: string; message: string; field: string | null; hint: string | null };
}

/** Every ticket id in every state directory (with repeats, so duplicates show). */
export async function allTicketIds(ctx: RunCtx): Promise<string[]> {
  const ids: string[] = [];
  for (const state of ['pending', 'completed', 'failed', 'needs_review', 'claimed']) {
    for (const sub of await ls(join(ctx.paths.dir, state))) {
      for (const name of await ls(join(ctx.paths.dir, state, sub))) {
        if (/\.(result|error|heartbeat|release)\.json$/.test(name) || name.startsWith('.')) continue;
        if (name.endsWith('.json')) ids.push(name.slice(0, -5));
      }
    }
  }
  return ids;
}

export interface DaemonProcess {
  child: ChildProcess;
  /** stderr so far (one log line per action). */
  stderr: () => string;
  /** Parsed JSON log lines so far (with --json). */
  entries: () => DaemonLogEntry[];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `node bin/tq.js --root ROOT daemon ...args` as a real process (durability off). */
export function spawnDaemon(root: string, args: string[]): DaemonProcess {
  const child = spawn(process.execPath, [BIN, '--root', root, 'daemon', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TQ_DURABILITY: 'none' } });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout?.resume();
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    stderr: () => err,
    entries: () =>
      err
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as DaemonLogEntry),
    exit,
  };
}

/** Make a FIFO (named pipe) at `path`: opening it for reading blocks until a writer comes. */
export function mkfifo(path: string): void {
  const r = spawnSync('mkfifo', [path]);
  if (r.status !== 0) throw new Error(`mkfifo ${path} failed: ${r.stderr.toString()}`);
}

export { hashTree } from '../helpers/run-invariants.js';

/**
 * A directory beside the run (`<root>/sentinel`, no run.json) holding files a careless daemon
 * could read, move or delete: hash it before and after (hashTree).
 */
export async function makeSentinel(root: string): Promise<string> {
  const dir = join(root, 'sentinel');
  await mkdir(join(dir, 'sub'), { recursive: true });
  await writeFile(join(dir, 'parse-victim.json'), '{"keep": "me"}\n');
  await writeFile(join(dir, 'parse-victim.result.json'), '{"output_data": {"stolen": true}}\n');
  await writeFile(join(dir, 'x.tmp'), 'temp-looking\n');
  await writeFile(join(dir, 'sub', 'w1.json'), '{"stage": "parse"}\n');
  return dir;
}

/** RSS and peak RSS (VmHWM) of a live process, in MB (Linux /proc). */
export async function memoryMbOf(pid: number): Promise<{ rss: number; peak: number }> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? Number.NaN);
  return { rss: Math.round(kb('VmRSS') / 1024), peak: Math.round(kb('VmHWM') / 1024) };
}

/** Every FIFO, socket or device under `dir` (relative paths), never following links. */
export async function specialFilesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (at: string, rel: string): Promise<void> => {
    for (const name of await readdir(at).catch(() => [] as string[])) {
      const path = join(at, name);
      const st = await lstat(path);
      const r = rel === '' ? name : `${rel}/${name}`;
      if (st.isDirectory()) await walk(path, r);
      else if (!st.isFile() && !st.isSymbolicLink()) found.push(r);
    }
  };
  await walk(dir, '');
  return found.sort();
}
