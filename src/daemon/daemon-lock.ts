import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { TqError, errnoCode, ioError } from '../core/model/errors.js';
import { nonce } from '../core/model/ids.js';
import type { RunCtx } from '../core/store/run-context.js';
import { createFileExclusive, readIfExists, tmpPath, unlinkIfExists } from '../core/store/atomic-write.js';
import { DAEMON_LOCK_FILE_NAME } from '../core/store/run-names.js';

export interface DaemonLockInfo {
  pid: number;
  hostname: string;
  started_at: string;
  /** Tells this daemon's lock from another's with the same pid (e.g. after a reboot). */
  token: string;
}

export interface DaemonLock {
  path: string;
  /** False when another daemon holds the lock and we run anyway (--force). */
  owned: boolean;
  mine: DaemonLockInfo;
  /** Who held it when we did not get it (for the log). */
  holder?: DaemonLockInfo;
  /** Taking over a lock whose daemon died: what was there. */
  tookOverFrom?: DaemonLockInfo;
}

export function daemonLockPath(ctx: RunCtx): string {
  return join(ctx.paths.dir, DAEMON_LOCK_FILE_NAME);
}

/** Is a process with this pid alive on this machine? (EPERM: alive, owned by someone else.) */
export function isPidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}

function parseLock(text: string): DaemonLockInfo | undefined {
  try {
    const v = JSON.parse(text) as Partial<DaemonLockInfo>;
    if (typeof v.pid === 'number' && typeof v.hostname === 'string') {
      return { pid: v.pid, hostname: v.hostname, started_at: String(v.started_at ?? ''), token: String(v.token ?? '') };
    }
  } catch {
    // fall through: an unreadable lock
  }
  return undefined;
}

export interface LockOptions {
  force: boolean;
  pid?: number;
  hostname?: string;
}

/**
 * Take `<run>/.daemon.lock`. A lock of a live daemon (or of another host, whose pids we cannot
 * check) means DAEMON_RUNNING unless `force`; a lock whose pid is dead on this host is stale and
 * taken over. The lock only keeps daemons from doing the same work twice: everything a daemon
 * does is idempotent, so two forced daemons are still safe.
 */
export async function acquireDaemonLock(ctx: RunCtx, opts: LockOptions): Promise<DaemonLock> {
  const path = daemonLockPath(ctx);
  const mine: DaemonLockInfo = { pid: opts.pid ?? process.pid, hostname: opts.hostname ?? osHostname(), started_at: ctx.clock.now().toISOString(), token: nonce() };
  const body = `${JSON.stringify(mine, null, 2)}\n`;
  let tookOverFrom: DaemonLockInfo | undefined;
  for (let attempt = 0; attempt < 10; attempt += 1) {
    // Why: created complete in .tmp/ then linked (O_EXCL semantics): nobody ever reads a half-written lock.
    if (await createFileExclusive(ctx, path, body)) return { path, owned: true, mine, ...(tookOverFrom ? { tookOverFrom } : {}) };
    const text = await readIfExists(ctx, path);
    if (text === undefined) continue;
    const holder = parseLock(text);
    const stale = holder === undefined || (holder.hostname === mine.hostname && !isPidAlive(holder.pid));
    if (!stale) {
      if (opts.force) return { path, owned: false, mine, holder };
      throw new TqError('DAEMON_RUNNING', `a daemon is already running on run "${ctx.runId}": pid ${holder.pid} on ${holder.hostname}, since ${holder.started_at} (${path})`, {
        file: path,
        hint: `stop that daemon first; if it is gone (e.g. on another machine), delete ${path}; or pass --force (safe: the daemon's work is idempotent)`,
        data: { holder },
      });
    }
    if (await setAsideStaleLock(ctx, path, text)) tookOverFrom = holder ?? { pid: 0, hostname: '?', started_at: '', token: '' };
  }
  throw new TqError('DAEMON_RUNNING', `could not take ${path}: other daemons keep taking it`, { file: path, hint: 'stop the other daemons, or pass --force' });
}

/** Move a stale lock out of the way; true if it was the one we read (nobody replaced it meanwhile). */
async function setAsideStaleLock(ctx: RunCtx, path: string, staleText: string): Promise<boolean> {
  const aside = await tmpPath(ctx, 'daemon.lock.stale');
  try {
    // RACE: two daemons may both find the stale lock; exactly one rename takes it.
    await ctx.fs.rename(path, aside);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw ioError(err, 'taking over', path);
  }
  const taken = await readIfExists(ctx, aside);
  if (taken !== staleText) {
    // RACE: between our read and our rename another daemon replaced the stale lock with its own
    // live one, and we took that: give it back (link: never over a newer lock).
    await ctx.fs.link(aside, path).catch(() => undefined);
    await unlinkIfExists(ctx, aside);
    return false;
  }
  await unlinkIfExists(ctx, aside);
  return true;
}

/** Try again to own a lock we run without (its holder may have stopped or died). */
export async function retakeDaemonLock(ctx: RunCtx, lock: DaemonLock): Promise<DaemonLock> {
  if (lock.owned) return lock;
  const next = await acquireDaemonLock(ctx, { force: true, pid: lock.mine.pid, hostname: lock.mine.hostname });
  return next;
}

/** Remove the lock if it is still ours. */
export async function releaseDaemonLock(ctx: RunCtx, lock: DaemonLock): Promise<void> {
  if (!lock.owned) return;
  const text = await readIfExists(ctx, lock.path);
  if (text === undefined) return;
  const holder = parseLock(text);
  // RACE: a --force daemon may have taken over after we were presumed dead; never remove its lock.
  if (holder?.token !== lock.mine.token) return;
  await unlinkIfExists(ctx, lock.path);
}
