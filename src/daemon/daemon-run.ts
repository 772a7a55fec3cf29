import { relative } from 'node:path';
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
    log: (entry) => log({ at: clock.now().toISOString(), run: ctx.runId, ...entry }),
  };
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
