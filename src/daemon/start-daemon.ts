import { Daemon } from './daemon.js';
import type { DaemonOptions } from './daemon-options.js';

export { Daemon } from './daemon.js';
export type { DaemonOptions } from './daemon-options.js';
export { DEFAULT_FULL_EVERY, DEFAULT_INTERVAL_MS, DEFAULT_SETTLE } from './daemon-defaults.js';

/**
 * Start a daemon: lock the runs (DAEMON_RUNNING if another daemon holds one, unless force),
 * then (with `loop`) work on watcher hints and rescan every interval (light rescans, and a full one
 * every `fullEvery`; see docs/protocol.md, "How the daemon finds work").
 */
export function startDaemon(opts: DaemonOptions): Promise<Daemon> {
  return Daemon.start(opts);
}
