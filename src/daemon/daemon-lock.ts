import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { TqError, errnoCode, ioError } from '../core/model/errors.js';
import { nonce } from '../core/model/ids.js';
import type { RunCtx } from '../core/store/run-context.js';
import { createFileExclusive, tmpPath, unlinkIfExists, writeFileAtomic, writeTempFor } from '../core/store/atomic-write.js';
import { DAEMON_LOCK_FILE_NAME } from '../core/store/run-names.js';
import { quarantineFile } from '../core/store/quarantine.js';
import { readAgentFile } from './read-agent-file.js';

/** A lock file is a few hundred bytes; anything bigger is not one of ours. */
const MAX_LOCK_BYTES = 64 * 1024;

/**
 * Who a daemon is, the same in every lock it takes: its pid and host, and a token of its own.
 * Why a token per daemon (not per lock): a run renamed while the daemon serves it carries the
 * daemon's lock along under the new name; the daemon must know that lock as its own (same
 * pid, host and token) to serve the run again, while a second daemon in the same process (same
 * pid and host, tests) still sees a lock that is not its own.
 */
export interface DaemonIdentity {
  pid: number;
  hostname: string;
  token: string;
}

export function newDaemonIdentity(opts: { pid?: number; hostname?: string } = {}): DaemonIdentity {
  return { pid: opts.pid ?? process.pid, hostname: opts.hostname ?? osHostname(), token: nonce() };
}

export interface DaemonLockInfo extends DaemonIdentity {
  started_at: string;
  /**
   * Until when the lock holds without its daemon renewing it (renewDaemonLock, every rescan).
   * Why: a daemon on another host cannot ask whether our pid lives; it takes the lock over once
   * this time has passed by its own clock. Absent in locks of older versions: never expires.
   */
  expires_at?: string;
  /** The run's name when the lock was taken (a renamed run's lock still says the old one). */
  run_id?: string;
}

export interface DaemonLock {
  path: string;
  /** False when another daemon holds the lock and we run anyway (--force). */
  owned: boolean;
  /** What the lock says while we own it (its expiry moves forward with each renewal). */
  mine: DaemonLockInfo;
  /** Who held it when we did not get it (for the log). */
  holder?: DaemonLockInfo;
  /** Taking over a lock whose daemon died: what was there. */
  tookOverFrom?: DaemonLockInfo;
  /** The lock was already this daemon's own, taken under another run name (`run_id` then): the run was renamed. */
  reattachedFrom?: DaemonLockInfo;
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
      return {
        pid: v.pid,
        hostname: v.hostname,
        started_at: String(v.started_at ?? ''),
        token: String(v.token ?? ''),
        ...(typeof v.run_id === 'string' ? { run_id: v.run_id } : {}),
        ...(typeof v.expires_at === 'string' ? { expires_at: v.expires_at } : {}),
      };
    }
  } catch {
    // fall through: an unreadable lock
  }
  return undefined;
}

/** Is this lock this daemon's own (taken by it, maybe under another run name)? */
export function isOwnLock(holder: DaemonLockInfo | undefined, me: DaemonIdentity): boolean {
  return holder !== undefined && holder.pid === me.pid && holder.hostname === me.hostname && holder.token !== '' && holder.token === me.token;
}

/**
 * The lock file's text, or undefined when there is none. Why not a plain read: the lock sits
 * in the run directory, where agents can write; a FIFO there must not hang the daemon (never
 * opened blocking, never through a link). Anything but a small regular file is an unreadable
 * lock ('' here): taken over like a garbled one.
 */
async function readLockText(ctx: RunCtx, path: string): Promise<string | undefined> {
  const read = await readAgentFile(ctx.fs, path, MAX_LOCK_BYTES);
  if (read.kind === 'gone') return undefined;
  return read.kind === 'text' ? read.text : '';
}

/** A FIFO, a directory or a link where the lock belongs: quarantined (never read, never deleted). True if it was one. */
async function quarantineOddLock(ctx: RunCtx, path: string): Promise<boolean> {
  let st;
  try {
    st = await ctx.fs.lstat(path);
  } catch {
    return false;
  }
  if (st.isFile()) return false;
  await quarantineFile(ctx, path, `${DAEMON_LOCK_FILE_NAME} is not a regular file; a daemon lock is one`);
  return true;
}

export interface LockOptions {
  force: boolean;
  identity: DaemonIdentity;
  /** How long the lock holds unless renewed (the daemon's default: DEFAULT_LOCK_TTL_MS in daemon-defaults.ts). */
  ttlMs: number;
}

/**
 * Is the holder's lock stale? On this host: its pid is dead (a pid says nothing about another
 * host). On another host: its expiry has passed by our clock (a lock without one never expires).
 * Why the expiry only across hosts: here the pid answers at once and exactly.
 */
function isStaleLock(holder: DaemonLockInfo, mine: DaemonLockInfo, now: Date): boolean {
  if (holder.hostname === mine.hostname) return !isPidAlive(holder.pid);
  const expires = holder.expires_at !== undefined ? Date.parse(holder.expires_at) : Number.NaN;
  return Number.isFinite(expires) && now.getTime() > expires;
}

function lockBody(info: DaemonLockInfo): string {
  return `${JSON.stringify(info, null, 2)}\n`;
}

function expiryFrom(now: Date, ttlMs: number): string {
  return new Date(now.getTime() + ttlMs).toISOString();
}

/**
 * Take `<run>/.daemon.lock`. A lock of a live daemon (on another host: one not expired) means
 * DAEMON_RUNNING unless `force`; a lock whose pid is dead on this host, or whose expiry has
 * passed on another host, is stale and taken over; a lock that is this daemon's own (a renamed
 * run) is taken back. The lock only keeps daemons from doing the same work twice: everything a
 * daemon does is idempotent, so two forced daemons are still safe.
 */
export async function acquireDaemonLock(ctx: RunCtx, opts: LockOptions): Promise<DaemonLock> {
  const path = daemonLockPath(ctx);
  const now = ctx.clock.now();
  const mine: DaemonLockInfo = { ...opts.identity, started_at: now.toISOString(), expires_at: expiryFrom(now, opts.ttlMs), run_id: ctx.runId };
  const body = lockBody(mine);
  let tookOverFrom: DaemonLockInfo | undefined;
  for (let attempt = 0; attempt < 10; attempt += 1) {
    // Why: created complete in .tmp/ then linked (O_EXCL semantics): nobody ever reads a half-written lock.
    if (await createFileExclusive(ctx, path, body)) return { path, owned: true, mine, ...(tookOverFrom ? { tookOverFrom } : {}) };
    const text = await readLockText(ctx, path);
    if (text === undefined || (text === '' && (await quarantineOddLock(ctx, path)))) continue;
    const holder = parseLock(text);
    if (isOwnLock(holder, mine)) {
      // Why replace: it is ours; it now says the run's new name, for the next rename's log.
      await writeFileAtomic(ctx, path, body);
      return { path, owned: true, mine, ...(holder ? { reattachedFrom: holder } : {}) };
    }
    if (holder !== undefined && !isStaleLock(holder, mine, now)) {
      if (opts.force) return { path, owned: false, mine, holder };
      throw runningError(ctx, path, holder, mine);
    }
    if (holder !== undefined && holder.hostname !== mine.hostname) {
      // Another host's expired lock: replaced in one rename, never removed (see replaceExpiredLock).
      if (await replaceExpiredLock(ctx, path, text, body, mine)) return { path, owned: true, mine, tookOverFrom: holder };
      continue;
    }
    if (await setAsideStaleLock(ctx, path, text)) tookOverFrom = holder ?? { pid: 0, hostname: '?', started_at: '', token: '' };
  }
  throw new TqError('DAEMON_RUNNING', `could not take ${path}: other daemons keep taking it`, { file: path, hint: 'stop the other daemons, or pass --force' });
}

function runningError(ctx: RunCtx, path: string, holder: DaemonLockInfo, mine: DaemonLockInfo): TqError {
  // Why say so: "pid <our own pid>" alone reads as if the daemon blamed itself.
  const self = holder.pid === mine.pid && holder.hostname === mine.hostname ? ' (another daemon in this same process: its lock token differs)' : '';
  return new TqError('DAEMON_RUNNING', `a daemon is already running on run "${ctx.runId}": pid ${holder.pid} on ${holder.hostname}${self}, since ${holder.started_at} (${path})`, {
    file: path,
    hint: `stop that daemon first; a daemon on another host takes the lock over once its expires_at has passed; if it is gone, delete ${path}; or pass --force (safe: the daemon's work is idempotent)`,
    data: { holder },
  });
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
  const taken = await readLockText(ctx, aside);
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

/**
 * Take over another host's expired lock: our lock is written whole under a temp name, the lock
 * is read again, and only if it is still the expired one we read is ours renamed over it. True
 * when the lock is ours afterwards.
 * Why rename over it rather than set it aside and create ours (as for a dead pid on this
 * host): at no moment is there no lock, so a third daemon never finds the name free.
 * RACE: two hosts that both read the same expired lock can both pass the re-read and both
 * rename; the last rename wins. The one that lost reads the lock again right after its rename
 * (below) and, at the latest, at its next rescan (holdsDaemonLock), finds it is not its own and
 * stops serving the run: two daemons can serve a run for at most one rescan after a takeover,
 * and everything a daemon does is idempotent (what the lock prevents is duplicated work).
 * Closing that window for good needs a compare-and-swap the filesystem does not offer
 * (link() to a fresh name is O_EXCL, but then the old lock must be removed first, which
 * opens the same window the other way round).
 */
async function replaceExpiredLock(ctx: RunCtx, path: string, expiredText: string, body: string, mine: DaemonIdentity): Promise<boolean> {
  const tmp = await writeTempFor(ctx, path, body);
  try {
    if ((await readLockText(ctx, path)) !== expiredText) return false;
    try {
      await ctx.fs.rename(tmp, path);
    } catch (err) {
      throw ioError(err, 'taking over', path);
    }
    const now = await readLockText(ctx, path);
    return now !== undefined && isOwnLock(parseLock(now), mine);
  } finally {
    await unlinkIfExists(ctx, tmp);
  }
}

/**
 * Push the lock's expiry forward (every rescan; it writes only once half of `ttlMs` has passed
 * since the last renewal). False when the lock is no longer this daemon's: another host took it
 * over because we did not renew it in time (a stalled or suspended daemon); the run must then
 * be dropped. A lock we run without (--force) is left alone.
 * RACE: another host can take the lock over between our read and our rename (only once it has
 * expired, i.e. we were stalled for longer than ttlMs); our rename then replaces its lock, and
 * that daemon drops the run at its next rescan (holdsDaemonLock). Same window as in
 * replaceExpiredLock: one rescan.
 */
export async function renewDaemonLock(ctx: RunCtx, lock: DaemonLock, ttlMs: number): Promise<boolean> {
  if (!lock.owned) return true;
  const now = ctx.clock.now();
  const expires = lock.mine.expires_at !== undefined ? Date.parse(lock.mine.expires_at) : 0;
  if (expires - now.getTime() > ttlMs / 2) return true;
  const text = await readLockText(ctx, lock.path);
  if (text === undefined || !isOwnLock(parseLock(text), lock.mine)) return false;
  const renewed: DaemonLockInfo = { ...lock.mine, expires_at: expiryFrom(now, ttlMs) };
  await writeFileAtomic(ctx, lock.path, lockBody(renewed));
  lock.mine = renewed;
  return true;
}

/** Try again to own a lock we run without (its holder may have stopped or died). */
export async function retakeDaemonLock(ctx: RunCtx, lock: DaemonLock, ttlMs: number): Promise<DaemonLock> {
  if (lock.owned) return lock;
  const { pid, hostname, token } = lock.mine;
  return acquireDaemonLock(ctx, { force: true, identity: { pid, hostname, token }, ttlMs });
}

/** Is the lock at the run's path still the one we took (a run replaced under its name has none, or another's)? */
export async function holdsDaemonLock(ctx: RunCtx, lock: DaemonLock): Promise<boolean> {
  if (!lock.owned) return true;
  const text = await readLockText(ctx, lock.path);
  return text !== undefined && isOwnLock(parseLock(text), lock.mine);
}

/** Remove the lock if it is still ours. */
export async function releaseDaemonLock(ctx: RunCtx, lock: DaemonLock): Promise<void> {
  if (!lock.owned) return;
  const text = await readLockText(ctx, lock.path);
  if (text === undefined) return;
  const holder = parseLock(text);
  // RACE: a --force daemon may have taken over after we were presumed dead; never remove its lock.
  if (holder?.token !== lock.mine.token) return;
  await unlinkIfExists(ctx, lock.path);
}
