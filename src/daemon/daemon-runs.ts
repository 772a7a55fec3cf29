import type { Clock } from '../core/model/clock.js';
import { isTqError } from '../core/model/errors.js';
import type { Fs } from '../core/store/fs-layer.js';
import { listRuns } from '../core/views/list-tickets.js';
import { openRun, type Durability } from '../core/store/run-context.js';
import { acquireDaemonLock, releaseDaemonLock, retakeDaemonLock } from './daemon-lock.js';
import type { DaemonLogEntry } from './daemon-log.js';
import { errorLogOf, isRegularFile, newDaemonRun, type DaemonRun, type DaemonSettle } from './daemon-run.js';

export interface RunSetOptions {
  root: string;
  /** The runs named on the command line; undefined = every run under the root. */
  named: string[] | undefined;
  clock: Clock;
  settle: DaemonSettle;
  durability: Durability | undefined;
  /** For the runs root. */
  fs: Fs;
  /** For the runs; undefined = each run's own, by its durability. */
  runFs: Fs | undefined;
  force: boolean;
  pid?: number;
  hostname?: string;
  log: (entry: DaemonLogEntry) => void;
}

/** The runs a daemon serves, each with its lock. */
export class RunSet {
  readonly runs = new Map<string, DaemonRun>();
  /** Runs another daemon holds (all-runs mode): logged once, retried every full pass. */
  private readonly heldElsewhere = new Set<string>();

  constructor(private readonly o: RunSetOptions) {}

  /** At start: every named run must open and lock (RUN_NOT_FOUND, DAEMON_RUNNING otherwise). */
  async attachAtStart(): Promise<void> {
    try {
      if (this.o.named) {
        for (const id of this.o.named) await this.attach(id);
        return;
      }
      for (const id of await listRuns(this.o.root, this.o.fs)) {
        try {
          await this.attach(id);
        } catch (err) {
          if (isTqError(err, 'DAEMON_RUNNING')) throw err;
          this.logRun(id, { action: 'error', note: 'cannot serve this run', error: errorLogOf(err) });
        }
      }
    } catch (err) {
      await this.detachAll();
      throw err;
    }
  }

  /** Every full pass: pick up new runs, drop deleted ones, retry locks we run without. Returns the new runs. */
  async refresh(): Promise<DaemonRun[]> {
    const added: DaemonRun[] = [];
    for (const [id, run] of this.runs) {
      if (!(await isRegularFile(run.ctx.fs, run.ctx.paths.runJson))) {
        this.runs.delete(id);
        this.logRun(id, { action: 'run gone', note: `${run.ctx.paths.runJson} disappeared; no longer served` });
        continue;
      }
      if (run.lock && !run.lock.owned) {
        run.lock = await retakeDaemonLock(run.ctx, run.lock).catch(() => run.lock);
        if (run.lock?.owned) this.logRun(id, { action: 'lock taken', note: 'the other daemon is gone; this one now holds the lock' });
      }
    }
    if (this.o.named) return added;
    for (const id of await listRuns(this.o.root, this.o.fs)) {
      if (this.runs.has(id)) continue;
      try {
        added.push(await this.attach(id));
        this.heldElsewhere.delete(id);
      } catch (err) {
        if (isTqError(err, 'DAEMON_RUNNING')) {
          if (!this.heldElsewhere.has(id)) this.logRun(id, { action: 'skipped', note: err.message });
          this.heldElsewhere.add(id);
          continue;
        }
        this.logRun(id, { action: 'error', note: 'cannot serve this run', error: errorLogOf(err) });
      }
    }
    return added;
  }

  async detachAll(): Promise<void> {
    for (const run of this.runs.values()) {
      if (run.recovering) await run.recovering;
      if (run.lock) await releaseDaemonLock(run.ctx, run.lock).catch(() => undefined);
    }
    this.runs.clear();
  }

  private async attach(id: string): Promise<DaemonRun> {
    const ctx = await openRun(this.o.root, id, { clock: this.o.clock, ...(this.o.durability ? { durability: this.o.durability } : {}), ...(this.o.runFs ? { fs: this.o.runFs } : {}) });
    const run = newDaemonRun(ctx, this.o.clock, this.o.settle, this.o.log);
    run.lock = await acquireDaemonLock(ctx, { force: this.o.force, ...(this.o.pid ? { pid: this.o.pid } : {}), ...(this.o.hostname ? { hostname: this.o.hostname } : {}) });
    this.runs.set(ctx.runId, run);
    const l = run.lock;
    if (!l.owned && l.holder) run.log({ action: 'lock held elsewhere', note: `pid ${l.holder.pid} on ${l.holder.hostname} holds ${l.path}; running anyway (--force)` });
    else if (l.tookOverFrom) run.log({ action: 'lock taken over', note: `the daemon that held it (pid ${l.tookOverFrom.pid} on ${l.tookOverFrom.hostname}) is gone` });
    return run;
  }

  private logRun(run: string, entry: Omit<DaemonLogEntry, 'at' | 'run'>): void {
    this.o.log({ at: this.o.clock.now().toISOString(), run, ...entry });
  }
}
