import { join, resolve } from 'node:path';
import { systemClock, type Clock } from '../core/model/clock.js';
import { cleanId } from '../core/model/ids.js';
import { commitRun } from '../core/ops/commit-run.js';
import { listDir } from '../core/store/atomic-write.js';
import { nodeFs, type Fs } from '../core/store/fs-layer.js';
import { parseAgentFileName } from '../core/store/run-names.js';
import { claimedDir } from '../core/store/run-context.js';
import { TicketState } from '../core/model/states.js';
import { cascadingStages } from './cascade-completed.js';
import { classifyHint, type Hint } from './classify-hint.js';
import { DEFAULT_FULL_EVERY, DEFAULT_LOCK_TTL_MS, DEFAULT_INTERVAL_MS, DEFAULT_POLL_INTERVAL_MS, resolveSettle } from './daemon-defaults.js';
import type { DaemonLogEntry, DaemonLogger } from './daemon-log.js';
import type { DaemonOptions } from './daemon-options.js';
import { errorLogOf, isRealDir, type DaemonRun } from './daemon-run.js';
import { RunSet } from './daemon-runs.js';
import { HintQueue } from './hint-queue.js';
import { isServableRequestName } from './serve-requests.js';
import { runFullPass, runLightPass, type FullPassOptions } from './run-pass.js';
import { CASCADE_CHUNK, serveHint } from './serve-hint.js';
import { DirEntryWatchers } from './watch-dir-entries.js';
import { watchRuns, type RunWatcher } from './watch-runs.js';

/** Hints served at the same time (each is one directory, ticket or parent). */
const MAX_HINTS = 8;
/**
 * Request files of a run queued to be served one by one (from their events). Why a cap: a flood
 * of events (100,000 files written into requests/) would queue 100,000 hints; past the cap the
 * oldest queued one is dropped for a scan of requests/, which serves and quarantines at a
 * bounded cost. Why the oldest: the newest event is the likeliest to be a worker waiting now.
 */
const MAX_REQUEST_FILE_HINTS = 256;
/** A full pass is followed by at least this many times its duration before the next full one. */
const FULL_COST_FACTOR = 10;
/** The full passes of the loop and of new runs: big cascade backlogs go on as hints. */
const BACKGROUND_FULL_PASS: FullPassOptions = { cascadeLimit: CASCADE_CHUNK, awaitRecovery: false };
/** pass(): everything, recovery of moving/ included, before it returns. */
const ONE_SHOT_FULL_PASS: FullPassOptions = { cascadeLimit: Infinity, awaitRecovery: true };

/** How the started line says whether the daemon polls, and why. */
function pollNote(poll: boolean, remote: string | undefined): string {
  if (remote === undefined) return poll ? '; polling' : '';
  return poll ? `; polling (the runs are on a ${remote} filesystem, where inotify sees no other host's changes)` : `; not polling although the runs are on a ${remote} filesystem (--no-poll): other hosts' changes are seen only at rescans`;
}

/** DaemonOptions with the defaults filled in. */
interface DaemonConfig {
  root: string;
  /** The runs named by the caller; undefined = every run under the root. */
  named: string[] | undefined;
  clock: Clock;
  log: DaemonLogger;
  /** For the runs root (each run has its own, in its ctx). */
  fs: Fs;
  poll: boolean;
  /** The remote filesystem the runs are on (for the log), if any. */
  remote: string | undefined;
  watch: boolean;
  loop: boolean;
  intervalMs: number;
  fullEvery: number;
  commitIntervalMs: number | undefined;
}

function configOf(opts: DaemonOptions): DaemonConfig {
  // Why poll on a remote filesystem: inotify never fires there for other clients' changes, and
  // a light rescan skips the directories it believes watched (see #watchesByName).
  const poll = opts.poll ?? opts.remote !== undefined;
  return {
    root: resolve(opts.root),
    named: opts.runs && opts.runs.length > 0 ? opts.runs.map((r) => cleanId(r, 'run id')) : undefined,
    clock: opts.clock ?? systemClock,
    log: opts.log ?? (() => undefined),
    fs: opts.fs ?? nodeFs,
    poll,
    remote: opts.remote,
    watch: opts.watch ?? true,
    loop: opts.loop ?? true,
    intervalMs: opts.intervalMs ?? (poll ? DEFAULT_POLL_INTERVAL_MS : DEFAULT_INTERVAL_MS),
    fullEvery: Math.max(1, Math.round(opts.fullEvery ?? DEFAULT_FULL_EVERY)),
    commitIntervalMs: opts.commitIntervalMs,
  };
}

/**
 * A running daemon: it locks its runs, then (with `loop`) works on watcher hints and rescans
 * every interval (light rescans, and a full one every `fullEvery`; see docs/protocol.md, "How the
 * daemon finds work"). Start one with startDaemon().
 */
export class Daemon {
  readonly #cfg: DaemonConfig;
  readonly #runs: RunSet;
  readonly #hints: HintQueue;
  /** Watchers of the big directories (completed/<stage>/, claimed/<worker>/); undefined without `watch`. */
  readonly #bigDirs: DirEntryWatchers | undefined;
  readonly #watcher: RunWatcher | undefined;
  readonly #firstPass = deferred();
  readonly #closedSignal = deferred();
  readonly #ready: Promise<void>;
  readonly #looping: Promise<void>;
  // Why: passes (and run discovery) run one at a time, so pass() never interleaves with the
  // loop's passes. Hints do not wait for them: they run beside passes, at most MAX_HINTS at a
  // time, one per hint key; both take the run's per-ticket / per-directory locks.
  #chain: Promise<unknown> = Promise.resolve();
  #stopping = false;
  #shutdown: Promise<void> | undefined;
  #wakeLoop: (() => void) | undefined;
  #lastCommit: number;
  /** Renews the run locks between passes (see #renewLocksMeanwhile). */
  #renewTimer: ReturnType<typeof setInterval> | undefined;
  /** The renewal in flight, awaited before the locks are released (else it could write a lock back after its release). */
  #renewing: Promise<void> | undefined;

  /** Settles when the daemon has stopped. */
  readonly closed: Promise<void> = this.#closedSignal.promise;

  /** Lock the runs (DAEMON_RUNNING if another daemon holds one, unless force), then start. */
  static async start(opts: DaemonOptions): Promise<Daemon> {
    const cfg = configOf(opts);
    const daemonRef: { current?: Daemon } = {};
    const runs = new RunSet({
      root: cfg.root,
      named: cfg.named,
      clock: cfg.clock,
      settle: resolveSettle(opts.settle),
      durability: opts.durability,
      fs: cfg.fs,
      runFs: opts.fs,
      force: opts.force ?? false,
      standby: opts.standby ?? false,
      // Why at least four intervals: the lock is renewed once per rescan, after half of it has passed.
      lockTtlMs: Math.max(opts.lockTtlMs ?? DEFAULT_LOCK_TTL_MS, 4 * cfg.intervalMs),
      log: cfg.log,
      // Why: inotify watches of a run that was renamed or replaced still report, under its old paths.
      onRemoved: (run) => daemonRef.current?.forgetWatches(run),
      ...(opts.pid !== undefined ? { pid: opts.pid } : {}),
      ...(opts.hostname !== undefined ? { hostname: opts.hostname } : {}),
    });
    await runs.attachAtStart();
    const daemon = new Daemon(cfg, runs);
    daemonRef.current = daemon;
    await daemon.#announce();
    return daemon;
  }

  private constructor(cfg: DaemonConfig, runs: RunSet) {
    this.#cfg = cfg;
    this.#runs = runs;
    this.#lastCommit = this.#now();
    this.#hints = new HintQueue({
      concurrency: MAX_HINTS,
      serve: (h) => this.#serveHint(h),
      onError: (err) => this.#emit('', { action: 'error', note: 'handling a change; the next pass retries', error: errorLogOf(err) }),
    });
    if (cfg.watch) {
      this.#bigDirs = new DirEntryWatchers(cfg.poll, (dir, file) => this.#onBigDirChange(dir, file), (err) => this.#onWatchError(err));
      this.#watcher = watchRuns({
        root: cfg.root,
        ...(cfg.named ? { runDirs: cfg.named.map((id) => resolve(cfg.root, id)) } : {}),
        poll: cfg.poll,
        onHint: (dir) => {
          const h = classifyHint(cfg.root, dir);
          if (h) this.#hints.add(h);
        },
        onError: (err) => this.#onWatchError(err),
      });
    }
    this.#looping = cfg.loop ? this.#loop() : Promise.resolve();
    if (cfg.loop) this.#renewLocksMeanwhile(runs);
    this.#ready = Promise.all([this.#watcher?.ready, cfg.loop ? this.#firstPass.promise : undefined]).then(() => {
      if (this.#watcher) this.#emit('', { action: 'ready', note: `watching; ${this.#bigDirs?.size() ?? 0} completed/<stage>/, claimed/<worker>/ and requests/ directories by name` });
    });
  }

  /**
   * Renew the run locks every quarter of their TTL, also while a pass runs. Why not only at each
   * rescan: a full pass over a huge run can take longer than half the TTL, and a daemon on
   * another host would take over a lock that expired meanwhile. A lock found lost is dealt with
   * by the next rescan (RunSet.refresh drops the run).
   */
  #renewLocksMeanwhile(runs: RunSet): void {
    this.#renewTimer = setInterval(() => {
      if (this.#renewing || this.#stopping) return;
      this.#renewing = runs.renewLocks().finally(() => {
        this.#renewing = undefined;
      });
    }, Math.max(1, runs.lockTtlMs / 4));
    this.#renewTimer.unref();
  }

  /** One complete pass over every run (recovery, files, cascades, requests, reaper, temp files). */
  pass(): Promise<void> {
    return this.#serial(() => this.#fullPass(ONE_SHOT_FULL_PASS));
  }

  /** Close the watcher, finish the current work, release the locks. */
  stop(): Promise<void> {
    this.#shutdown ??= this.#shutDown();
    return this.#shutdown;
  }

  runIds(): string[] {
    return [...this.#runs.runs.keys()];
  }

  /**
   * Does the daemon watch this directory (with inode `ino`) with an fs.watch of its own, so
   * that a file written there makes an event? For diagnostics and tests.
   */
  watches(dir: string, ino: number): boolean {
    return this.#bigDirs?.watchesInode(dir, ino) ?? false;
  }

  /** Settles once the watcher is live and (with loop) the first full pass is done. */
  ready(): Promise<void> {
    return this.#ready;
  }

  async #announce(): Promise<void> {
    const { root, named, intervalMs, fullEvery, poll } = this.#cfg;
    if (!named && !(await isDir(this.#cfg.fs, root))) this.#emit('', { action: 'warning', note: `the runs root ${root} does not exist (yet); runs created there later will be served (check --root / TQ_ROOT)` });
    this.#emit('', { action: 'started', note: `pid ${process.pid}; ${named ? `runs ${named.join(', ')}` : `every run under ${root}`}; rescan every ${intervalMs} ms (a full one every ${fullEvery})${pollNote(poll, this.#cfg.remote)}` });
  }

  async #shutDown(): Promise<void> {
    this.#stopping = true;
    // Why: a pass or scan in progress ends at its next entry, so SIGTERM is obeyed promptly.
    this.#runs.stopAll();
    this.#hints.close();
    this.#wakeLoop?.();
    await this.#watcher?.close().catch(() => undefined);
    this.#bigDirs?.close();
    if (this.#renewTimer !== undefined) clearInterval(this.#renewTimer);
    await this.#looping;
    await this.#chain;
    await this.#hints.onIdle();
    await this.#commitNow();
    await this.#renewing;
    await this.#runs.detachAll();
    this.#emit('', { action: 'stopped' });
    this.#closedSignal.resolve();
  }

  /**
   * Every interval a pass; every `fullEvery`-th one (and the first) is full, and full passes
   * are also kept at least FULL_COST_FACTOR times their own duration apart, so that on a huge
   * run they cannot take more than a small share of the daemon's time.
   */
  async #loop(): Promise<void> {
    let light = 0;
    let fullNotBefore = 0;
    let first = true;
    while (!this.#stopping) {
      try {
        const full = first || (light + 1 >= this.#cfg.fullEvery && performance.now() >= fullNotBefore);
        const t0 = performance.now();
        await this.#serial(() => (full ? this.#fullPass(BACKGROUND_FULL_PASS) : this.#lightPass())).finally(() => {
          if (first) this.#firstPass.resolve();
          first = false;
        });
        if (full) {
          light = 0;
          fullNotBefore = performance.now() + FULL_COST_FACTOR * (performance.now() - t0);
        } else light += 1;
        await this.#serial(() => this.#commitIfDue());
      } catch (err) {
        this.#emit('', { action: 'error', note: 'daemon loop; continuing', error: errorLogOf(err) });
      }
      if (this.#stopping) break;
      await this.#sleep(this.#cfg.intervalMs);
    }
  }

  /** Wait `ms`, or less if stop() wakes us. */
  async #sleep(ms: number): Promise<void> {
    await new Promise<void>((r) => {
      const t = setTimeout(r, ms);
      this.#wakeLoop = () => {
        clearTimeout(t);
        r();
      };
    });
    this.#wakeLoop = undefined;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#chain.then(fn);
    this.#chain = p.catch(() => undefined);
    return p;
  }

  async #fullPass(opts: FullPassOptions): Promise<void> {
    await this.#runs.refresh();
    for (const run of [...this.#runs.runs.values()]) await this.#passRun(run, (r) => runFullPass(r, opts));
  }

  async #lightPass(): Promise<void> {
    await this.#runs.refresh();
    const watched = (dir: string): boolean => this.#watchesByName(dir);
    for (const run of [...this.#runs.runs.values()]) await this.#passRun(run, (r) => runLightPass(r, { cascadeLimit: CASCADE_CHUNK, watched }));
  }

  /** A run created after we started gets a full pass as soon as we see it. */
  async #passNewRuns(): Promise<void> {
    for (const run of await this.#runs.refresh()) await this.#passRun(run, (r) => runFullPass(r, BACKGROUND_FULL_PASS));
  }

  async #passRun(run: DaemonRun, pass: (run: DaemonRun) => Promise<string[]>): Promise<void> {
    // Why before the pass: files arriving after the watcher starts make events, files that
    // arrived before are found by the pass's scan.
    await this.#ensureWatches(run);
    for (const stage of await pass(run)) this.#hints.add({ kind: 'completed', run: run.ctx.runId, stage });
  }

  /** Does a watcher report every file created in `dir` by name? Not with --poll: a polled directory says that it changed, not which file. */
  #watchesByName(dir: string): boolean {
    return this.#bigDirs !== undefined && !this.#cfg.poll && this.#bigDirs.has(dir);
  }

  /**
   * completed/<stage>/ and claimed/<worker>/ are created lazily: watch each one as soon as it
   * exists (and requests/). Returns a hint to look once at each directory newly watched.
   */
  async #ensureWatches(run: DaemonRun): Promise<Hint[]> {
    const bigDirs = this.#bigDirs;
    if (!bigDirs) return [];
    const added: Hint[] = [];
    const runId = run.ctx.runId;
    for (const { stage, dir } of cascadingStages(run)) {
      const ino = await realDirIno(run.ctx.fs, dir);
      if (ino !== undefined && bigDirs.ensure(dir, ino)) added.push({ kind: 'completed', run: runId, stage });
    }
    const requestsIno = await realDirIno(run.ctx.fs, run.ctx.paths.requests);
    if (requestsIno !== undefined && bigDirs.ensure(run.ctx.paths.requests, requestsIno)) added.push({ kind: 'requests', run: runId });
    const claimed = join(run.ctx.paths.dir, TicketState.claimed);
    if (await isRealDir(run.ctx.fs, claimed)) {
      for (const worker of await listDir(run.ctx, claimed)) {
        const dir = claimedDir(run.ctx, worker);
        const ino = await realDirIno(run.ctx.fs, dir);
        if (ino !== undefined && bigDirs.ensure(dir, ino)) added.push({ kind: 'worker', run: runId, worker });
      }
    }
    return added;
  }

  async #serveHint(h: Hint): Promise<void> {
    if (h.kind === 'runs') {
      if (!this.#cfg.named) await this.#serial(() => this.#passNewRuns());
      return;
    }
    const run = this.#runs.runs.get(h.run);
    if (!run) return;
    try {
      for (const next of await serveHint(run, h, (r) => this.#ensureWatches(r))) this.#hints.add(next);
    } finally {
      if (h.kind === 'requests' && h.file !== undefined) run.queuedRequests.delete(h.file);
    }
  }

  /** A request file a watcher event named: served on its own, or (past the cap) by a scan. */
  #onRequestFile(h: Extract<Hint, { kind: 'requests' }>, file: string): void {
    // Replies we write, files we take, junk names: nothing to serve on their own (the scan quarantines junk).
    const run = this.#runs.runs.get(h.run);
    if (!run || !isServableRequestName(file)) return;
    const queued = run.queuedRequests;
    queued.delete(file);
    if (queued.size >= MAX_REQUEST_FILE_HINTS) {
      const oldest = queued.values().next().value;
      if (oldest !== undefined) {
        queued.delete(oldest);
        this.#hints.drop({ ...h, file: oldest });
      }
      this.#hints.add(h);
    }
    queued.add(file);
    this.#hints.add({ ...h, file });
  }

  /** Drop the watchers of a run no longer served (renamed, deleted, replaced). */
  private forgetWatches(run: DaemonRun): void {
    this.#bigDirs?.forgetUnder(run.ctx.paths.dir);
  }

  /** An entry of completed/<stage>/, claimed/<worker>/ or requests/ changed (`file` when the platform names it). */
  #onBigDirChange(dir: string, file: string | undefined): void {
    const h = classifyHint(this.#cfg.root, dir);
    if (h?.kind === 'requests') return file !== undefined ? this.#onRequestFile(h, file) : this.#hints.add(h);
    if (h?.kind === 'completed') this.#hints.add(file !== undefined ? { ...h, file } : h);
    if (h?.kind === 'worker') {
      if (file === undefined) return this.#hints.add(h);
      // Only agents' files mean work; the ticket files and error files the daemon moves
      // and writes there make events too.
      if (parseAgentFileName(file) !== undefined) return this.#hints.add({ ...h, file });
      // A claim file changed (claimed, stamped, heartbeat, edited): the reaper reads it again.
      this.#runs.runs.get(h.run)?.claimDue.delete(`${h.worker}/${file}`);
    }
  }

  #onWatchError(err: unknown): void {
    this.#emit('', { action: 'watch error', note: 'the periodic rescan still finds everything', error: errorLogOf(err) });
  }

  async #commitIfDue(): Promise<void> {
    const every = this.#cfg.commitIntervalMs;
    if (every === undefined || this.#now() - this.#lastCommit < every) return;
    await this.#commitNow();
  }

  /**
   * Commit every run (with --commit). Why here: the daemon is the one git writer of its runs:
   * commits happen between its own moves (serialised with them), so parallel agents never
   * fight over git's index lock.
   */
  async #commitNow(): Promise<void> {
    if (this.#cfg.commitIntervalMs === undefined) return;
    this.#lastCommit = this.#now();
    // Why: a commit is taken between moves: hints wait (they stay queued) while it runs.
    this.#hints.pause();
    try {
      // Why not the 'runs' hint: it waits for the serial chain, which the commit holds; its pass
      // cannot run before the commit is done anyway.
      await this.#hints.onIdle((h) => h.kind === 'runs');
      for (const run of this.#runs.runs.values()) await this.#commitRun(run);
    } finally {
      this.#hints.resume();
    }
  }

  async #commitRun(run: DaemonRun): Promise<void> {
    try {
      const r = await commitRun(run.ctx, { env: process.env });
      if (r.committed) this.#emit(run.ctx.runId, { action: 'committed', note: `${r.commit ?? ''} ${r.message.split('\n')[0] ?? ''}` });
    } catch (err) {
      this.#emit(run.ctx.runId, { action: 'error', note: 'git commit failed; will retry at the next interval', error: errorLogOf(err) });
    }
  }

  #now(): number {
    return this.#cfg.clock.now().getTime();
  }

  #emit(run: string, entry: Omit<DaemonLogEntry, 'at' | 'run'>): void {
    this.#cfg.log({ at: this.#cfg.clock.now().toISOString(), run, ...entry });
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** The inode of a real directory (not a link to one), or undefined. */
async function realDirIno(fs: Fs, path: string): Promise<number | undefined> {
  try {
    const st = await fs.lstat(path);
    return st.isDirectory() ? st.ino : undefined;
  } catch {
    return undefined;
  }
}

/** The root may itself be a symlink (unlike anything inside a run): stat, not lstat. */
async function isDir(fs: Fs, path: string): Promise<boolean> {
  try {
    return (await fs.stat(path)).isDirectory();
  } catch {
    return false;
  }
}
