import { isAbsolute, relative, sep } from 'node:path';
import type { Clock } from '../core/model/clock.js';
import type { Fs } from '../core/store/fs-layer.js';
import type { RunCtx } from '../core/store/run-context.js';
import { AgentFileMemory } from './agent-file-memory.js';
import { KeyedLock } from './bounded.js';
import type { DaemonLock } from './daemon-lock.js';
import type { DaemonLogEntry } from './daemon-log.js';

/** How long the daemon waits before it acts on things that may still be in progress. */
export interface DaemonSettle {
  /** An agent file that does not parse is answered once it stayed unchanged this long. */
  fileMs: number;
  /** moving/ entries untouched this long belong to a crashed mover (recoverMoving). */
  movingMs: number;
  /** A file the daemon took (`.*.taken`) and never finished belongs to a crashed daemon. */
  takenMs: number;
  /** Temp files in .tmp/ older than this are litter of crashed writers. */
  tmpMs: number;
}

export type RunLogEntry = Omit<DaemonLogEntry, 'at' | 'run'>;

/** Most problems remembered as logged (see noteOnce). */
const MAX_NOTED = 1024;

/** One run the daemon serves, with what it remembers about it. */
export interface DaemonRun {
  ctx: RunCtx;
  clock: Clock;
  settle: DaemonSettle;
  memory: AgentFileMemory;
  /** .tmp/ names and when they were first seen. */
  tmpSeen: Map<string, number>;
  lock: DaemonLock | undefined;
  /** The background recovery of moving/, while one runs. */
  recovering: Promise<void> | undefined;
  /** One handler at a time per agent ticket, request directory or cascade (hints and passes share it). */
  locks: KeyedLock;
  /**
   * The reaper's memory: `<worker>/<file name>` of a claim read before → when its lease ends
   * (ms). Light passes read a claim again only once that time has come; full passes read all.
   */
  claimDue: Map<string, number>;
  /** The daemon is stopping: long loops (a scan, a cascade backlog, the reaper) end early; the next start goes on. */
  stopping: boolean;
  /** Why the run is not served right now (a directory of it that is a link), or undefined; see check-run-dirs.ts. */
  unsafe: string | undefined;
  /**
   * Names of request files queued (or being served) one by one from their events, oldest
   * first; at most MAX_REQUEST_FILE_HINTS (daemon.ts). The scan leaves them to their hints.
   */
  queuedRequests: Set<string>;
  /** The last scan of requests/ left work for a later one (a flood draining): light passes scan it too. */
  requestsMore: boolean;
  /** Problems the daemon cannot fix and logs once (a linked directory, an invalid name): their keys. */
  noted: Set<string>;
  log(entry: RunLogEntry): void;
}

export function newDaemonRun(ctx: RunCtx, clock: Clock, settle: DaemonSettle, log: (entry: DaemonLogEntry) => void): DaemonRun {
  return {
    ctx,
    clock,
    settle,
    memory: new AgentFileMemory(),
    tmpSeen: new Map(),
    lock: undefined,
    recovering: undefined,
    locks: new KeyedLock(),
    claimDue: new Map(),
    noted: new Set(),
    requestsMore: false,
    queuedRequests: new Set(),
    unsafe: undefined,
    stopping: false,
    log: (entry) => log({ at: clock.now().toISOString(), run: ctx.runId, ...entry }),
  };
}

/**
 * Log a problem the daemon leaves alone once, not on every rescan (every 2 s). Why a cap: the
 * keys name entries agents can create at will; past it, such problems are logged every time.
 */
export function noteOnce(run: DaemonRun, key: string, entry: RunLogEntry): void {
  if (run.noted.has(key)) return;
  if (run.noted.size < MAX_NOTED) run.noted.add(key);
  run.log(entry);
}

export function nowMs(run: DaemonRun): number {
  return run.clock.now().getTime();
}

/** A path as agents see it: relative to the run directory. */
export function relOf(run: DaemonRun, path: string): string {
  return relative(run.ctx.paths.dir, path);
}

/** A real directory (not a link to one: nothing is ever written outside the run)? */
export async function isRealDir(fs: Fs, path: string): Promise<boolean> {
  try {
    return (await fs.lstat(path)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Is `path` (inside the run) a real directory, and every directory between the run's and it too?
 * Why each level: `claimed/` as a link out of the run makes `claimed/<w>/` look real to an
 * lstat of the last level alone, and the daemon writes, moves and deletes in such directories.
 * Outside the run (a bug): false.
 */
export async function isRealDirInRun(ctx: RunCtx, path: string): Promise<boolean> {
  const rel = relative(ctx.paths.dir, path);
  if (rel.startsWith('..') || isAbsolute(rel)) return false;
  let at = ctx.paths.dir;
  for (const part of rel === '' ? [] : rel.split(sep)) {
    at = `${at}/${part}`;
    if (!(await isRealDir(ctx.fs, at))) return false;
  }
  return rel === '' ? isRealDir(ctx.fs, at) : true;
}

/**
 * The first directory on the way from the run's directory to `path` that exists but is not a
 * real directory (a link, a file), or undefined when there is none. Missing levels are fine:
 * state directories are made when needed (and then made real).
 */
export async function linkedDirOnPath(ctx: RunCtx, path: string): Promise<string | undefined> {
  const rel = relative(ctx.paths.dir, path);
  if (rel.startsWith('..') || isAbsolute(rel)) return path;
  let at = ctx.paths.dir;
  for (const part of rel === '' ? [] : rel.split(sep)) {
    at = `${at}/${part}`;
    let st;
    try {
      st = await ctx.fs.lstat(at);
    } catch {
      return undefined;
    }
    if (!st.isDirectory()) return at;
  }
  return undefined;
}

export async function isRegularFile(fs: Fs, path: string): Promise<boolean> {
  try {
    return (await fs.lstat(path)).isFile();
  } catch {
    return false;
  }
}

export function errorLogOf(err: unknown): { code: string; message: string } {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof (err as { code: unknown }).code === 'string' && err instanceof Error) {
    return { code: (err as { code: string }).code, message: err.message };
  }
  return { code: 'ERROR', message: err instanceof Error ? err.message : String(err) };
}
