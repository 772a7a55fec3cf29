import type { DaemonSettle } from './daemon-run.js';

/** Defaults of `tq daemon`, apart from the daemon itself so the CLI can show them without loading chokidar. */
export const DEFAULT_INTERVAL_MS = 2000;
export const DEFAULT_SETTLE: DaemonSettle = { fileMs: 3000, movingMs: 5000, takenMs: 10_000, tmpMs: 60_000 };
