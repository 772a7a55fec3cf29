import type { DaemonSettle } from './daemon-run.js';

/** Defaults of `tq daemon`, apart from the daemon itself so the CLI can show them without loading chokidar. */
export const DEFAULT_INTERVAL_MS = 2000;
/**
 * The rescan period when polling (a remote filesystem, or --poll): no event will come, so every
 * request and result file waits for a rescan; this is the longest it waits.
 */
export const DEFAULT_POLL_INTERVAL_MS = 1000;
/**
 * Every how many rescans one is a full rescan (re-lists completed/<stage>/ and re-reads every
 * claim); the others are light (watchers cover completed/, claims are re-read when their lease
 * ends). 15 × 2 s = a full rescan every 30 s, or less often on a run so big that a full rescan
 * takes more than a tenth of that.
 */
/**
 * How long a run's daemon lock holds without being renewed (DaemonOptions.lockTtlMs, `tq daemon
 * --lock-ttl`): how long a daemon on another host waits before taking over from one that died.
 * Far above the clock skew of hosts that run NTP, and far above a rescan.
 */
export const DEFAULT_LOCK_TTL_MS = 60_000;
export const DEFAULT_FULL_EVERY = 15;
export const DEFAULT_SETTLE: DaemonSettle = { fileMs: 3000, movingMs: 5000, takenMs: 10_000, tmpMs: 60_000 };

/**
 * The settle times a daemon runs with, from those its caller set (`tq daemon --settle
 * --file-settle`, or DaemonOptions.settle). Why takenMs and tmpMs follow a movingMs that was
 * set (10× and 60× as long, at least 1 s and 5 s), unless set themselves: whoever shortens or
 * lengthens the wait before a move in moving/ counts as crashed means the same for the other
 * leftovers of crashed writers, which are never in more of a hurry. Nothing set: DEFAULT_SETTLE.
 */
export function resolveSettle(given: Partial<DaemonSettle> = {}): DaemonSettle {
  const moving = given.movingMs;
  const scaled = moving !== undefined ? { takenMs: Math.max(10 * moving, 1000), tmpMs: Math.max(60 * moving, 5000) } : {};
  return { ...DEFAULT_SETTLE, ...scaled, ...given };
}
