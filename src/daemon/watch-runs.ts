import { watch } from 'chokidar';
import { dirname } from 'node:path';
import { isWatchedDir } from './classify-hint.js';

export interface RunWatcher {
  /** Settles once the initial scan is done and every watched directory has its watcher. */
  ready: Promise<void>;
  close(): Promise<void>;
}

/** chokidar reads a changed directory at most once a second; look again after that. */
const RELOOK_MS = 1500;

export interface WatchOptions {
  /** Absolute runs root. */
  root: string;
  /** Absolute run directories to watch; undefined = the whole root (runs created later too). */
  runDirs?: string[];
  /** stat polling instead of inotify (network filesystems). */
  poll: boolean;
  /** A directory whose content changed. */
  onHint: (dir: string) => void;
  onError: (err: unknown) => void;
}

/**
 * Watch only the directories whose changes mean work (see isWatchedDir), never files: events
 * are hints that trigger a look at one directory, and the periodic full pass catches the rest.
 */
export function watchRuns(opts: WatchOptions): RunWatcher {
  const watcher = watch(opts.runDirs ?? [opts.root], {
    ignoreInitial: true,
    followSymlinks: false,
    usePolling: opts.poll,
    interval: 300,
    binaryInterval: 300,
    atomic: false,
    depth: opts.runDirs ? 2 : 3,
    ignored: (path, stats) => !isWatchedDir(opts.root, path, stats ? stats.isDirectory() : undefined),
  });
  watcher.on('raw', (_event, path, details) => {
    // fs.watch reports the watched directory in details.watchedPath (path is the entry name);
    // polling reports the directory itself as path.
    const watched = typeof details === 'object' && details !== null && 'watchedPath' in details ? (details as { watchedPath: unknown }).watchedPath : undefined;
    opts.onHint(typeof watched === 'string' ? watched : path);
  });
  const relooks = new Set<NodeJS.Timeout>();
  watcher.on('addDir', (path) => {
    opts.onHint(path);
    opts.onHint(dirname(path));
    // RACE: chokidar reports a new directory before its own watcher on it is set up: a file
    // written in between makes no event. Looking again once the watcher exists catches it.
    const t = setTimeout(() => {
      relooks.delete(t);
      opts.onHint(path);
    }, RELOOK_MS);
    relooks.add(t);
  });
  watcher.on('error', (err) => opts.onError(err));
  const ready = new Promise<void>((r) => watcher.once('ready', () => r()));
  return {
    ready,
    close: async () => {
      for (const t of relooks) clearTimeout(t);
      relooks.clear();
      await watcher.close();
    },
  };
}
