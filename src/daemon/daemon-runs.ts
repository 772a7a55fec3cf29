import type { Clock } from '../core/model/clock.js';
import { TqError, isTqError } from '../core/model/errors.js';
import type { Fs } from '../core/store/fs-layer.js';
import { listRuns } from '../core/views/list-tickets.js';
import { openRun, type Durability, type RunCtx } from '../core/store/run-context.js';
import { runPaths, type RunPaths } from '../core/store/run-paths.js';
import { cleanId } from '../core/model/ids.js';
import { acquireDaemonLock, holdsDaemonLock, newDaemonIdentity, releaseDaemonLock, renewDaemonLock, retakeDaemonLock, type DaemonIdentity } from './daemon-lock.js';
import type { DaemonLogEntry } from './daemon-log.js';
import { errorLogOf, isRegularFile, newDaemonRun, type DaemonRun, type DaemonSettle } from './daemon-run.js';
import { checkRunDirs } from './check-run-dirs.js';

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
  /**
   * A run another live daemon holds is no error at start: it is skipped and retried every
   * rescan, and taken over once that daemon is gone (its pid dead on this host, its lock expired
   * on another). For a standby daemon on a second host.
   */
  standby: boolean;
  /** How long a run's lock holds unless renewed (renewed every rescan). */
  lockTtlMs: number;
  pid?: number;
  hostname?: string;
  log: (entry: DaemonLogEntry) => void;
  /** A run no longer served (deleted, renamed, replaced): its watchers can go. */
  onRemoved?: (run: DaemonRun) => void;
}

/** The runs a daemon serves, each with its lock. */
export class RunSet {
  readonly runs = new Map<string, DaemonRun>();
  /** Runs another daemon holds (all-runs mode): logged once, retried every full pass. */
  private readonly heldElsewhere = new Set<string>();
  /** Runs that cannot be served (logged once; tried again every rescan). */
  private readonly refused = new Map<string, string>();
  /** The same in every lock this daemon takes: how it knows its own lock in a renamed run. */
  private readonly identity: DaemonIdentity;

  constructor(private readonly o: RunSetOptions) {
    this.identity = newDaemonIdentity({ ...(o.pid !== undefined ? { pid: o.pid } : {}), ...(o.hostname !== undefined ? { hostname: o.hostname } : {}) });
  }

  /** At start: every named run must open and lock (RUN_NOT_FOUND, DAEMON_RUNNING otherwise). */
  async attachAtStart(): Promise<void> {
    try {
      if (this.o.named) {
        for (const id of this.o.named) await this.attachOrStandBy(id);
        return;
      }
      for (const id of await listRuns(this.o.root, this.o.fs)) {
        try {
          await this.attachOrStandBy(id);
        } catch (err) {
          if (isTqError(err, 'DAEMON_RUNNING')) throw err;
          this.logRefused(id, err);
        }
      }
    } catch (err) {
      await this.detachAll();
      throw err;
    }
  }

  /**
   * Every rescan: drop runs that are gone (deleted, renamed) or whose lock is no longer ours,
   * pick up new runs (a renamed one too: its lock is this daemon's own), retry locks we run
   * without. Returns the new runs.
   */
  async refresh(): Promise<DaemonRun[]> {
    const added: DaemonRun[] = [];
    const again: string[] = [];
    for (const [id, run] of this.runs) {
      const why = await this.whyNotServed(run);
      if (why !== undefined) {
        this.drop(id, run, why.note);
        if (why.reattach) again.push(id);
        continue;
      }
      if (run.lock && !run.lock.owned) {
        run.lock = await retakeDaemonLock(run.ctx, run.lock, this.o.lockTtlMs).catch(() => run.lock);
        if (run.lock?.owned) this.logRun(id, { action: 'lock taken', note: 'the other daemon is gone; this one now holds the lock' });
      }
    }
    // Why every named run on standby: one held elsewhere at start is retried until it is free.
    const candidates = this.o.named ? (this.o.standby ? this.o.named : again) : await listRuns(this.o.root, this.o.fs);
    for (const id of candidates) {
      if (this.runs.has(id)) continue;
      const run = await this.tryAttach(id);
      if (run) added.push(run);
    }
    return added;
  }

  get lockTtlMs(): number {
    return this.o.lockTtlMs;
  }

  /** Renew every run's lock that is due (between rescans; errors and lost locks are left to the next refresh). */
  async renewLocks(): Promise<void> {
    for (const run of [...this.runs.values()]) {
      if (run.lock) await renewDaemonLock(run.ctx, run.lock, this.o.lockTtlMs).catch(() => true);
    }
  }

  /** Tell every run's long loops to end early (the daemon is stopping). */
  stopAll(): void {
    for (const run of this.runs.values()) run.stopping = true;
  }

  async detachAll(): Promise<void> {
    for (const run of this.runs.values()) {
      if (run.recovering) await run.recovering;
      if (run.lock) await releaseDaemonLock(run.ctx, run.lock).catch(() => undefined);
    }
    this.runs.clear();
  }

  /** Why a served run must be dropped now, or undefined. */
  private async whyNotServed(run: DaemonRun): Promise<{ note: string; reattach: boolean } | undefined> {
    if (!(await isRegularFile(run.ctx.fs, run.ctx.paths.runJson))) {
      const next = this.o.named
        ? 'this daemon serves only the runs named when it started: start one on the new name if it was renamed'
        : 'if it was renamed, it is served under its new name from now on';
      return { note: `${run.ctx.paths.runJson} disappeared (the run was deleted or renamed); no longer served under this name; ${next}`, reattach: false };
    }
    if (run.lock && !(await holdsDaemonLock(run.ctx, run.lock).catch(() => true))) {
      return { note: `${run.lock.path} is gone or no longer this daemon's (the run directory was replaced, the lock removed by hand, or taken over by a daemon on another host after it expired): attaching the run again`, reattach: true };
    }
    // Why a failed renewal keeps serving: the lock is still ours (just checked); the next rescan tries again.
    if (run.lock && !(await renewDaemonLock(run.ctx, run.lock, this.o.lockTtlMs).catch(() => true))) {
      return { note: `${run.lock.path} was taken over by another daemon while this one had not renewed it: attaching the run again`, reattach: true };
    }
    return undefined;
  }

  private drop(id: string, run: DaemonRun, note: string): void {
    this.runs.delete(id);
    this.logRun(id, { action: 'run gone', note });
    this.o.onRemoved?.(run);
  }

  /** Attach a run found by a rescan; log (once) why not when it cannot be served. */
  private async tryAttach(id: string): Promise<DaemonRun | undefined> {
    try {
      const run = await this.attach(id);
      this.heldElsewhere.delete(id);
      this.refused.delete(id);
      return run;
    } catch (err) {
      if (isTqError(err, 'DAEMON_RUNNING')) {
        if (!this.heldElsewhere.has(id)) this.logRun(id, { action: 'skipped', note: err.message });
        this.heldElsewhere.add(id);
        return undefined;
      }
      this.logRefused(id, err);
      return undefined;
    }
  }

  /** attach, but on standby a run held by another daemon is noted (logged once) and retried later. */
  private async attachOrStandBy(id: string): Promise<void> {
    try {
      await this.attach(id);
    } catch (err) {
      if (!this.o.standby || !isTqError(err, 'DAEMON_RUNNING')) throw err;
      this.logRun(id, { action: 'standing by', note: `${err.message}; taken over once that daemon is gone (its lock expired, on another host)` });
      this.heldElsewhere.add(id);
    }
  }

  private logRefused(id: string, err: unknown): void {
    const e = errorLogOf(err);
    if (this.refused.get(id) === e.message) return;
    this.refused.set(id, e.message);
    this.logRun(id, { action: 'error', note: 'cannot serve this run', error: e });
  }

  private async attach(id: string): Promise<DaemonRun> {
    // Why before opening: opening reads run.json, which must not be a FIFO or a link out of the run.
    await checkRealRun(this.o.fs, runPaths(this.o.root, cleanId(id, 'run id')));
    // Why no extra guard: every read of the Fs layer opens O_NOFOLLOW | O_NONBLOCK and refuses
    // a non-regular file after fstat (EFTYPE), so a FIFO named like a ticket never blocks us.
    const ctx: RunCtx = await openRun(this.o.root, id, { clock: this.o.clock, ...(this.o.durability ? { durability: this.o.durability } : {}), ...(this.o.runFs ? { fs: this.o.runFs } : {}) });
    const run = newDaemonRun(ctx, this.o.clock, this.o.settle, this.o.log);
    run.lock = await acquireDaemonLock(ctx, { force: this.o.force, identity: this.identity, ttlMs: this.o.lockTtlMs });
    this.runs.set(ctx.runId, run);
    await checkRunDirs(run);
    const l = run.lock;
    if (!l.owned && l.holder) run.log({ action: 'lock held elsewhere', note: `pid ${l.holder.pid} on ${l.holder.hostname} holds ${l.path}; running anyway (--force)` });
    else if (l.tookOverFrom) {
      const how = l.tookOverFrom.hostname !== l.mine.hostname && l.tookOverFrom.expires_at !== undefined ? `: its lock expired at ${l.tookOverFrom.expires_at}` : '';
      run.log({ action: 'lock taken over', note: `the daemon that held it (pid ${l.tookOverFrom.pid} on ${l.tookOverFrom.hostname}) is gone${how}` });
    }
    else if (l.reattachedFrom) {
      const from = l.reattachedFrom.run_id;
      run.log(
        from !== undefined && from !== id
          ? { action: 'run renamed', note: `"${from}" was renamed to "${id}" while this daemon served it (its lock there is this daemon's own: pid ${l.mine.pid}, same token); served under the new name` }
          : { action: 'lock reattached', note: `${l.path} was already this daemon's own (pid ${l.mine.pid}, same token)` },
      );
    }
    return run;
  }

  private logRun(run: string, entry: Omit<DaemonLogEntry, 'at' | 'run'>): void {
    this.o.log({ at: this.o.clock.now().toISOString(), run, ...entry });
  }
}

/**
 * A run directory (and its run.json) must be the real thing, not a link: the daemon writes, moves
 * and deletes inside it, and nothing outside the runs root may be touched that way. A missing
 * run.json is left to openRun (RUN_NOT_FOUND).
 */
async function checkRealRun(fs: Fs, paths: RunPaths): Promise<void> {
  const kind = async (path: string): Promise<'dir' | 'file' | 'other' | 'none'> => {
    try {
      const st = await fs.lstat(path);
      return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
    } catch {
      return 'none';
    }
  };
  const dir = await kind(paths.dir);
  if (dir === 'none') return;
  if (dir !== 'dir') {
    throw new TqError('USAGE', `${paths.dir} is a symbolic link (or not a directory); the daemon serves only real run directories, so that nothing outside them is ever written`, { file: paths.dir });
  }
  const runJson = await kind(paths.runJson);
  if (runJson !== 'none' && runJson !== 'file') {
    throw new TqError('USAGE', `${paths.runJson} is not a regular file (a link, a FIFO?); the daemon serves only real runs`, { file: paths.runJson });
  }
}
