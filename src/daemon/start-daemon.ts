import { lstat, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { systemClock, type Clock } from '../core/model/clock.js';
import { cleanId } from '../core/model/ids.js';
import { commitRun } from '../core/ops/commit-run.js';
import type { Durability } from '../core/store/run-context.js';
import { cascadingStages } from './cascade-completed.js';
import { classifyHint, hintKey, type Hint } from './classify-hint.js';
import type { DaemonLogEntry, DaemonLogger } from './daemon-log.js';
import { errorLogOf, isRealDir, type DaemonRun, type DaemonSettle } from './daemon-run.js';
import { DirEntryWatchers } from './watch-dir-entries.js';
import { RunSet } from './daemon-runs.js';
import { runFullPass } from './run-full-pass.js';
import { CASCADE_CHUNK, serveHint } from './serve-hint.js';
import { watchRuns, type RunWatcher } from './watch-runs.js';
import { DEFAULT_FULL_EVERY, DEFAULT_INTERVAL_MS, DEFAULT_SETTLE } from './daemon-defaults.js';
import { agentFileTicket } from './serve-worker-files.js';
import { listDir } from '../core/store/atomic-write.js';

/** Hints served at the same time (each is one directory, ticket or parent). */
const MAX_HINTS = 8;
/** A full pass is followed by at least this many times its duration before the next full one. */
const FULL_COST_FACTOR = 10;

export interface DaemonOptions {
  /** The runs root. */
  root: string;
  /** Runs to serve; empty or undefined = every run under the root, including runs created later. */
  runs?: string[];
  /** Poll the filesystem instead of inotify (network filesystems). */
  poll?: boolean;
  /** Rescan period in ms (default 2000). */
  intervalMs?: number;
  /** Every how many rescans one is full (default DEFAULT_FULL_EVERY); the others are light (see runFullPass). */
  fullEvery?: number;
  /** Run even where another live daemon holds the lock. */
  force?: boolean;
  /** Watch with chokidar (default true). */
  watch?: boolean;
  /** Work on its own (watcher hints and the interval); false = only when pass() is called. */
  loop?: boolean;
  settle?: Partial<DaemonSettle>;
  clock?: Clock;
  durability?: Durability;
  log?: DaemonLogger;
  /** Commit every served run into its git repository this often (ms); undefined = never. */
  commitIntervalMs?: number;
  /** Lock identity (tests). */
  pid?: number;
  hostname?: string;
}

export interface Daemon {
  /** One complete pass over every run (recovery, files, cascades, requests, reaper, temp files). */
  pass(): Promise<void>;
  /** Close the watcher, finish the current work, release the locks. */
  stop(): Promise<void>;
  runIds(): string[];
  /**
   * Does the daemon watch this directory (with inode `ino`) with an fs.watch of its own, so
   * that a file written there makes an event? For diagnostics and tests.
   */
  watches(dir: string, ino: number): boolean;
  /** Settles once the watcher is live and (with loop) the first full pass is done. */
  ready(): Promise<void>;
  /** Settles when the daemon has stopped. */
  readonly closed: Promise<void>;
}

export { DEFAULT_FULL_EVERY, DEFAULT_INTERVAL_MS, DEFAULT_SETTLE } from './daemon-defaults.js';

/**
 * Start a daemon: lock the runs (DAEMON_RUNNING if another daemon holds one, unless force),
 * then (with `loop`) work on watcher hints and rescan every interval (light rescans, and a full one
 * every `fullEvery`; see docs/protocol.md, "How the daemon finds work").
 */
export async function startDaemon(opts: DaemonOptions): Promise<Daemon> {
  const root = resolve(opts.root);
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? (() => undefined);
  const emit = (run: string, entry: Omit<DaemonLogEntry, 'at' | 'run'>): void => log({ at: clock.now().toISOString(), run, ...entry });
  const named = opts.runs && opts.runs.length > 0 ? opts.runs.map((r) => cleanId(r, 'run id')) : undefined;
  const runs = new RunSet({
    root,
    named,
    clock,
    settle: { ...DEFAULT_SETTLE, ...opts.settle },
    durability: opts.durability,
    force: opts.force ?? false,
    log,
    ...(opts.pid !== undefined ? { pid: opts.pid } : {}),
    ...(opts.hostname !== undefined ? { hostname: opts.hostname } : {}),
  });
  await runs.attachAtStart();

  const intervalMs = opts.intervalMs ?? DEFAULT_INTERVAL_MS;
  const fullEvery = Math.max(1, Math.round(opts.fullEvery ?? DEFAULT_FULL_EVERY));
  let stopping = false;
  let wakeLoop: (() => void) | undefined;
  // Why: passes (and run discovery) run one at a time, so pass() never interleaves with the
  // loop's passes. Hints do not wait for them: they run beside passes, at most MAX_HINTS at a
  // time, one per hint key; both take the run's per-ticket / per-directory locks.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = chain.then(fn);
    chain = p.catch(() => undefined);
    return p;
  };

  // Hints waiting to be served, agents' first (they wait on us), cascades after.
  const agentHints = new Map<string, Hint>();
  const cascadeHints = new Map<string, Hint>();
  const active = new Map<string, Promise<void>>();
  // Why: a commit is taken between moves: hints wait (they stay queued) while it runs.
  let quiet = false;
  const addHint = (h: Hint): void => {
    if (stopping) return;
    (h.kind === 'completed' ? cascadeHints : agentHints).set(hintKey(h), h);
    pump();
  };
  const pump = (): void => {
    for (const queue of [agentHints, cascadeHints]) {
      for (const [key, h] of queue) {
        if (stopping || quiet || active.size >= MAX_HINTS) return;
        // Why: a key being served stays queued; it is served again once the running one ends.
        if (active.has(key)) continue;
        queue.delete(key);
        const task = serveOneHint(h)
          .catch((err: unknown) => emit('', { action: 'error', note: 'handling a change; the next pass retries', error: errorLogOf(err) }))
          .finally(() => {
            active.delete(key);
            pump();
          });
        active.set(key, task);
      }
    }
  };
  const serveOneHint = async (h: Hint): Promise<void> => {
    if (h.kind === 'runs') {
      // Why: a run created after we started gets a full pass as soon as we see it.
      if (!named) await serial(async () => passRuns(await runs.refresh(), CASCADE_CHUNK, false, true));
      return;
    }
    const run = runs.runs.get(h.run);
    if (run) for (const next of await serveHint(run, h, ensureWatches)) addHint(next);
  };

  // Why: the daemon is the one git writer of its runs: commits happen between its own moves
  // (serialised with them), so parallel agents never fight over git's index lock.
  let lastCommit = clock.now().getTime();
  const commitRuns = async (force: boolean): Promise<void> => {
    if (opts.commitIntervalMs === undefined) return;
    if (!force && clock.now().getTime() - lastCommit < opts.commitIntervalMs) return;
    lastCommit = clock.now().getTime();
    await quiesceHints();
    for (const run of runs.runs.values()) {
      try {
        const r = await commitRun(run.ctx, { env: process.env });
        if (r.committed) emit(run.ctx.runId, { action: 'committed', note: `${r.commit ?? ''} ${r.message.split('\n')[0] ?? ''}` });
      } catch (err) {
        emit(run.ctx.runId, { action: 'error', note: 'git commit failed; will retry at the next interval', error: errorLogOf(err) });
      }
    }
    quiet = false;
    pump();
  };
  const quiesceHints = async (): Promise<void> => {
    quiet = true;
    // Why not the 'runs' hint: it waits for the serial chain, which the commit holds; its pass
    // cannot run before the commit is done anyway.
    const others = (): Promise<void>[] => [...active].filter(([key]) => key !== 'runs').map(([, task]) => task);
    for (let tasks = others(); tasks.length > 0; tasks = others()) await Promise.all(tasks);
  };

  const fullPass = async (cascadeLimit: number, awaitRecovery: boolean, full: boolean): Promise<void> => {
    await runs.refresh();
    await passRuns([...runs.runs.values()], cascadeLimit, awaitRecovery, full);
  };
  const passRuns = async (list: DaemonRun[], cascadeLimit: number, awaitRecovery: boolean, full: boolean): Promise<void> => {
    for (const run of list) {
      // Why before the pass: files arriving after the watcher starts make events, files that
      // arrived before are found by the pass's scan.
      await ensureWatches(run);
      // Why not with --poll: a polled directory says that it changed, not which file.
      const watched = (dir: string): boolean => bigDirs !== undefined && !(opts.poll ?? false) && bigDirs.has(dir);
      const more = await runFullPass(run, { cascadeLimit, awaitRecovery, full, watched });
      for (const stage of more) addHint({ kind: 'completed', run: run.ctx.runId, stage });
    }
  };
  /**
   * completed/<stage>/ and claimed/<worker>/ are created lazily: watch each one as soon as it
   * exists. Returns a hint to look once at each directory newly watched.
   */
  const ensureWatches = async (run: DaemonRun): Promise<Hint[]> => {
    if (!bigDirs) return [];
    const added: Hint[] = [];
    const runId = run.ctx.runId;
    for (const { stage, dir } of cascadingStages(run)) {
      const ino = await realDirIno(dir);
      if (ino !== undefined && bigDirs.ensure(dir, ino)) added.push({ kind: 'completed', run: runId, stage });
    }
    const claimed = join(run.ctx.paths.dir, 'claimed');
    if (await isRealDir(claimed)) {
      for (const worker of await listDir(run.ctx, claimed)) {
        const dir = join(claimed, worker);
        const ino = await realDirIno(dir);
        if (ino !== undefined && bigDirs.ensure(dir, ino)) added.push({ kind: 'worker', run: runId, worker });
      }
    }
    return added;
  };

  let firstPassDone: () => void = () => undefined;
  const firstPass = new Promise<void>((r) => {
    firstPassDone = r;
  });
  /**
   * Every interval a pass; every `fullEvery`-th one (and the first) is full, and full passes
   * are also kept at least FULL_COST_FACTOR times their own duration apart, so that on a huge
   * run they cannot take more than a small share of the daemon's time.
   */
  const loop = async (): Promise<void> => {
    let light = 0;
    let fullNotBefore = 0;
    let first = true;
    while (!stopping) {
      try {
        const full = first || (light + 1 >= fullEvery && performance.now() >= fullNotBefore);
        const t0 = performance.now();
        await serial(() => fullPass(CASCADE_CHUNK, false, full)).finally(() => {
          if (first) firstPassDone();
          first = false;
        });
        if (full) {
          light = 0;
          fullNotBefore = performance.now() + FULL_COST_FACTOR * (performance.now() - t0);
        } else light += 1;
        await serial(() => commitRuns(false));
      } catch (err) {
        emit('', { action: 'error', note: 'daemon loop; continuing', error: errorLogOf(err) });
      }
      if (stopping) break;
      await new Promise<void>((r) => {
        const t = setTimeout(r, intervalMs);
        wakeLoop = () => {
          clearTimeout(t);
          r();
        };
      });
      wakeLoop = undefined;
    }
  };

  let watcher: RunWatcher | undefined;
  let bigDirs: DirEntryWatchers | undefined;
  if (opts.watch ?? true) {
    bigDirs = new DirEntryWatchers(
      opts.poll ?? false,
      (dir, file) => {
        const h = classifyHint(root, dir);
        if (h?.kind === 'completed') addHint(file !== undefined ? { ...h, file } : h);
        if (h?.kind === 'worker') {
          if (file === undefined) return addHint(h);
          // Only agents' files mean work; the ticket files and error files the daemon moves
          // and writes there make events too.
          if (agentFileTicket(file) !== undefined) return addHint({ ...h, file });
          // A claim file changed (claimed, stamped, heartbeat, edited): the reaper reads it again.
          runs.runs.get(h.run)?.claimDue.delete(`${h.worker}/${file}`);
        }
      },
      (err) => emit('', { action: 'watch error', note: 'the periodic rescan still finds everything', error: errorLogOf(err) }),
    );
    watcher = watchRuns({
      root,
      ...(named ? { runDirs: named.map((id) => resolve(root, id)) } : {}),
      poll: opts.poll ?? false,
      onHint: (dir) => {
        const h = classifyHint(root, dir);
        if (h) addHint(h);
      },
      onError: (err) => emit('', { action: 'watch error', note: 'the periodic rescan still finds everything', error: errorLogOf(err) }),
    });
  }
  const looping = (opts.loop ?? true) ? loop() : Promise.resolve();
  const ready = Promise.all([watcher?.ready, (opts.loop ?? true) ? firstPass : undefined]).then(() => {
    if (watcher) emit('', { action: 'ready', note: `watching; ${bigDirs?.size() ?? 0} completed/<stage>/ and claimed/<worker>/ directories by name` });
  });
  if (!named && !(await isDir(root))) emit('', { action: 'warning', note: `the runs root ${root} does not exist (yet); runs created there later will be served (check --root / TQ_ROOT)` });
  emit('', { action: 'started', note: `pid ${process.pid}; ${named ? `runs ${named.join(', ')}` : `every run under ${root}`}; rescan every ${intervalMs} ms (a full one every ${fullEvery})${opts.poll ? '; polling' : ''}` });

  let resolveClosed: () => void = () => undefined;
  const closed = new Promise<void>((r) => {
    resolveClosed = r;
  });
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      stopping = true;
      wakeLoop?.();
      await watcher?.close().catch(() => undefined);
      bigDirs?.close();
      await looping;
      await chain;
      while (active.size > 0) await Promise.all([...active.values()]);
      await commitRuns(true);
      await runs.detachAll();
      emit('', { action: 'stopped' });
      resolveClosed();
    })();
    return stopped;
  };

  return {
    pass: () =>
      serial(async () => {
        await fullPass(Infinity, true, true);
      }),
    stop,
    runIds: () => [...runs.runs.keys()],
    watches: (dir, ino) => bigDirs?.watchesInode(dir, ino) ?? false,
    ready: () => ready,
    closed,
  };
}

/** The inode of a real directory (not a link to one), or undefined. */
async function realDirIno(path: string): Promise<number | undefined> {
  try {
    const st = await lstat(path);
    return st.isDirectory() ? st.ino : undefined;
  } catch {
    return undefined;
  }
}

/** The root may itself be a symlink (unlike anything inside a run): stat, not lstat. */
async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
