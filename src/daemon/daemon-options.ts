import type { Clock } from '../core/model/clock.js';
import type { Fs } from '../core/store/fs-layer.js';
import type { Durability } from '../core/store/run-context.js';
import type { DaemonLogger } from './daemon-log.js';
import type { DaemonSettle } from './daemon-run.js';

export interface DaemonOptions {
  /** The runs root. */
  root: string;
  /** Runs to serve; empty or undefined = every run under the root, including runs created later. */
  runs?: string[];
  /**
   * Poll instead of waiting for inotify events: every rescan then lists every directory
   * (requests/, claimed/<worker>/, completed/<stage>/), so request and result files are served
   * within one interval. true: poll; false: events even on a remote filesystem (`--no-poll`);
   * undefined: poll when `remote` says so.
   */
  poll?: boolean;
  /**
   * The runs are on a network or FUSE filesystem (its name, e.g. 'NFS', 'FUSE'; the CLI asks
   * statfs, see detect-remote-fs.ts), where inotify never sees other clients' changes: the
   * daemon polls unless `poll` is false. Undefined: a local disk.
   */
  remote?: string;
  /** Rescan period in ms (default DEFAULT_INTERVAL_MS, or DEFAULT_POLL_INTERVAL_MS when polling). */
  intervalMs?: number;
  /** Every how many rescans one is full (default DEFAULT_FULL_EVERY); the others are light (see runLightPass). */
  fullEvery?: number;
  /** Run even where another live daemon holds the lock. */
  force?: boolean;
  /**
   * Runs another live daemon holds are no error at start: they are skipped and taken over once
   * that daemon is gone (`tq daemon --standby`, a second host's daemon).
   */
  standby?: boolean;
  /** Watch with chokidar (default true). */
  watch?: boolean;
  /** Work on its own (watcher hints and the interval); false = only when pass() is called. */
  loop?: boolean;
  /** How long to wait before acting on what may still be in progress; see resolveSettle for what is left unset. */
  settle?: Partial<DaemonSettle>;
  clock?: Clock;
  durability?: Durability;
  /**
   * Every filesystem call of the daemon goes through this (fault injection, tests): the runs
   * root's (default nodeFs) and, when given, the runs' (else each run's own, by its durability).
   */
  fs?: Fs;
  log?: DaemonLogger;
  /** Commit every served run into its git repository this often (ms); undefined = never. */
  commitIntervalMs?: number;
  /**
   * How long a run's lock holds unless renewed (default DEFAULT_LOCK_TTL_MS, and at least four
   * rescan intervals); it is renewed every rescan. A daemon on another host takes a run over
   * once its lock has expired by that host's clock: keep this far above the clock skew.
   */
  lockTtlMs?: number;
  /** Lock identity (tests). */
  pid?: number;
  hostname?: string;
}
