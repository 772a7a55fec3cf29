import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { systemClock, type Clock } from '../core/clock.js';
import { cleanId } from '../core/ids.js';
import { commitRun } from '../core/commit-run.js';
import type { Durability } from '../core/run-context.js';
import { cascadingStages } from './cascade-completed.js';
import { classifyHint, hintKey, type Hint } from './classify-hint.js';
import type { DaemonLogEntry, DaemonLogger } from './daemon-log.js';
import { errorLogOf, isRealDir, type DaemonRun, type DaemonSettle } from './daemon-run.js';
import { DirEntryWatchers } from './watch-dir-entries.js';
import { RunSet } from './daemon-runs.js';
import { runFullPass } from './run-full-pass.js';
import { CASCADE_CHUNK, serveHint } from './serve-hint.js';
import { watchRuns, type RunWatcher } from './watch-runs.js';
import { DEFAULT_INTERVAL_MS, DEFAULT_SETTLE } from './daemon-defaults.js';

export interface DaemonOptions {
  /** The runs root. */
  root: string;
  /** Runs to serve; empty or undefined = every run under the root, including runs created later. */
  runs?: string[];
  /** Poll the filesystem instead of inotify (network filesystems). */
  poll?: boolean;
  /** Full rescan period in ms (default 2000). */
  intervalMs?: number;
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
  /** Settles once the watcher is live and (with loop) the first full pass is done. */
  ready(): Promise<void>;
  /** Settles when the daemon has stopped. */
  readonly closed: Promise<void>;
}

export { DEFAULT_INTERVAL_MS, DEFAULT_SETTLE } from './daemon-defaults.js';

/**
 * Start a daemon: lock the runs (DAEMON_RUNNING if another daemon holds one, unless force),
 * then (with `loop`) work on watcher hints and rescan everything every interval.
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
  const dirty = new Map<string, Hint>();
  let fullDue = true;
  let stopping = false;
  let wake: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  // Why: every piece of work runs one at a time, so pass() never interleaves with the loop.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = chain.then(fn);
    chain = p.catch(() => undefined);
    return p;
  };
  const poke = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const addHint = (h: Hint): void => {
    dirty.set(hintKey(h), h);
    poke();
  };

  // Why: the daemon is the one git writer of its runs: commits happen between its own moves
  // (serialised with them), so parallel agents never fight over git's index lock.
  let lastCommit = clock.now().getTime();
  const commitRuns = async (force: boolean): Promise<void> => {
    if (opts.commitIntervalMs === undefined) return;
    if (!force && clock.now().getTime() - lastCommit < opts.commitIntervalMs) return;
    lastCommit = clock.now().getTime();
    for (const run of runs.runs.values()) {
      try {
        const r = await commitRun(run.ctx);
        if (r.committed) emit(run.ctx.runId, { action: 'committed', note: `${r.commit ?? ''} ${r.message.split('\n')[0] ?? ''}` });
      } catch (err) {
        emit(run.ctx.runId, { action: 'error', note: 'git commit failed; will retry at the next interval', error: errorLogOf(err) });
      }
    }
  };

  const fullPass = async (cascadeLimit: number, awaitRecovery: boolean): Promise<void> => {
    await runs.refresh();
    await passRuns([...runs.runs.values()], cascadeLimit, awaitRecovery);
  };
  const passRuns = async (list: DaemonRun[], cascadeLimit: number, awaitRecovery: boolean): Promise<void> => {
    for (const run of list) {
      // Why before the pass: files arriving after the watcher starts make events, files that
      // arrived before are found by the pass's scan.
      await watchCompletedDirs(run);
      const more = await runFullPass(run, { cascadeLimit, awaitRecovery });
      for (const stage of more) addHint({ kind: 'completed', run: run.ctx.runId, stage });
    }
  };
  /** completed/<stage>/ is created lazily: watch each one as soon as it exists. Returns the stages newly watched. */
  const watchCompletedDirs = async (run: DaemonRun): Promise<string[]> => {
    const added: string[] = [];
    for (const { stage, dir } of cascadingStages(run)) if (bigDirs && (await isRealDir(dir)) && bigDirs.ensure(dir)) added.push(stage);
    return added;
  };

  const handleHints = async (): Promise<void> => {
    // Why: agents wait on requests and results; cascades can wait a moment.
    const batch = [...dirty.values()].sort((a, b) => (a.kind === 'completed' ? 1 : 0) - (b.kind === 'completed' ? 1 : 0));
    dirty.clear();
    for (const h of batch) {
      if (stopping) return;
      if (h.kind === 'runs') {
        // Why: a run created after we started gets a full pass as soon as we see it.
        if (!named) await passRuns(await runs.refresh(), CASCADE_CHUNK, false);
        continue;
      }
      const run = runs.runs.get(h.run);
      if (run) for (const next of await serveHint(run, h, watchCompletedDirs)) addHint(next);
    }
  };

  let firstPassDone: () => void = () => undefined;
  const firstPass = new Promise<void>((r) => {
    firstPassDone = r;
  });
  const loop = async (): Promise<void> => {
    while (!stopping) {
      try {
        if (fullDue) {
          fullDue = false;
          await serial(() => fullPass(CASCADE_CHUNK, false)).finally(firstPassDone);
          await serial(() => commitRuns(false));
          if (!stopping) {
            timer = setTimeout(() => {
              fullDue = true;
              poke();
            }, intervalMs);
          }
        } else if (dirty.size > 0) {
          await serial(handleHints);
        } else {
          await new Promise<void>((r) => {
            wake = r;
          });
        }
      } catch (err) {
        emit('', { action: 'error', note: 'daemon loop; continuing', error: errorLogOf(err) });
      }
    }
  };

  let watcher: RunWatcher | undefined;
  let bigDirs: DirEntryWatchers | undefined;
  if (opts.watch ?? true) {
    bigDirs = new DirEntryWatchers(
      opts.poll ?? false,
      (dir, file) => {
        const h = classifyHint(root, dir);
        if (h?.kind === 'completed' && !stopping) addHint(file !== undefined ? { ...h, file } : h);
      },
      (err) => emit('', { action: 'watch error', note: 'the periodic rescan still finds everything', error: errorLogOf(err) }),
    );
    watcher = watchRuns({
      root,
      ...(named ? { runDirs: named.map((id) => resolve(root, id)) } : {}),
      poll: opts.poll ?? false,
      onHint: (dir) => {
        const h = classifyHint(root, dir);
        if (h && !stopping) addHint(h);
      },
      onError: (err) => emit('', { action: 'watch error', note: 'the periodic rescan still finds everything', error: errorLogOf(err) }),
    });
  }
  const looping = (opts.loop ?? true) ? loop() : Promise.resolve();
  const ready = Promise.all([watcher?.ready, (opts.loop ?? true) ? firstPass : undefined]).then(() => {
    if (watcher) emit('', { action: 'ready', note: `watching; ${bigDirs?.size() ?? 0} completed/<stage>/ directories by name` });
  });
  if (!named && !(await isDir(root))) emit('', { action: 'warning', note: `the runs root ${root} does not exist (yet); runs created there later will be served (check --root / TQ_ROOT)` });
  emit('', { action: 'started', note: `pid ${process.pid}; ${named ? `runs ${named.join(', ')}` : `every run under ${root}`}; rescan every ${intervalMs} ms${opts.poll ? '; polling' : ''}` });

  let resolveClosed: () => void = () => undefined;
  const closed = new Promise<void>((r) => {
    resolveClosed = r;
  });
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      stopping = true;
      if (timer) clearTimeout(timer);
      poke();
      await watcher?.close().catch(() => undefined);
      bigDirs?.close();
      await looping;
      await chain;
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
        await fullPass(Infinity, true);
      }),
    stop,
    runIds: () => [...runs.runs.keys()],
    ready: () => ready,
    closed,
  };
}

/** The root may itself be a symlink (unlike anything inside a run): stat, not lstat. */
async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
