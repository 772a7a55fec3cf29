import type { DaemonSettle } from './daemon-run.js';

/** Defaults of `tq daemon`, apart from the daemon itself so the CLI can show them without loading chokidar. */
export const DEFAULT_INTERVAL_MS = 2000;
/**
 * Every how many rescans one is a full rescan (re-lists completed/<stage>/ and re-reads every
 * claim); the others are light (watchers cover completed/, claims are re-read when their lease
 * ends). 15 × 2 s = a full rescan every 30 s, or less often on a run so big that a full rescan
 * takes more than a tenth of that.
 */
export const DEFAULT_FULL_EVERY = 15;
export const DEFAULT_SETTLE: DaemonSettle = { fileMs: 3000, movingMs: 5000, takenMs: 10_000, tmpMs: 60_000 };
