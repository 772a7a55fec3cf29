import { isAbsolute, relative, sep } from 'node:path';

/** What a watcher event says needs a look. Events are only hints; full passes find everything. */
export type Hint =
  | { kind: 'runs' }
  /** With `file`: only that request file (a watcher event named it); else a scan of requests/. */
  | { kind: 'requests'; run: string; file?: string }
  /** With `file`: only that agent file (a watcher event named it); else the whole directory. */
  | { kind: 'worker'; run: string; worker: string; file?: string }
  /** claimed/ itself changed: a worker directory may have appeared (it needs a watcher). */
  | { kind: 'workers'; run: string }
  | { kind: 'completed'; run: string; stage: string; file?: string }
  /** completed/ itself changed: a stage directory may have appeared (it needs a watcher). */
  | { kind: 'stages'; run: string };

/** Map a directory that changed (under the runs root) to the work it may mean. */
export function classifyHint(root: string, dir: string): Hint | undefined {
  const rel = relative(root, dir);
  if (rel.startsWith('..') || isAbsolute(rel)) return undefined;
  if (rel === '') return { kind: 'runs' };
  const parts = rel.split(sep);
  const [run, area, sub] = parts;
  if (run === undefined) return undefined;
  // A run directory changed: maybe it just got its run.json (a new run).
  if (parts.length === 1) return { kind: 'runs' };
  if (parts.length === 2 && area === 'requests') return { kind: 'requests', run };
  if (parts.length === 2 && area === 'completed') return { kind: 'stages', run };
  if (parts.length === 2 && area === 'claimed') return { kind: 'workers', run };
  if (parts.length === 3 && area === 'claimed' && sub) return { kind: 'worker', run, worker: sub };
  if (parts.length === 3 && area === 'completed' && sub) return { kind: 'completed', run, stage: sub };
  return undefined;
}

export function hintKey(h: Hint): string {
  switch (h.kind) {
    case 'runs':
      return 'runs';
    case 'requests':
      return `${h.run}\0requests${h.file !== undefined ? `\0${h.file}` : ''}`;
    case 'worker':
      return `${h.run}\0worker\0${h.worker}${h.file !== undefined ? `\0${h.file}` : ''}`;
    case 'workers':
      return `${h.run}\0workers`;
    case 'stages':
      return `${h.run}\0stages`;
    case 'completed':
      return `${h.run}\0completed\0${h.stage}${h.file !== undefined ? `\0${h.file}` : ''}`;
  }
}

/**
 * Is this one of the directories chokidar watches? Only directories: chokidar would hold a
 * watcher per file otherwise (20,000 tickets = 20,000 watchers). Inotify on a directory still
 * reports every file created, changed or renamed in it.
 *   <root>/<run>/, <run>/claimed/, <run>/completed/
 * completed/<stage>/ can be huge, and chokidar re-reads a directory (an lstat per entry) on every
 * change: those are watched by DirEntryWatchers instead. So are claimed/<worker>/ directories:
 * they hold every ticket a worker claimed, and change several times per result (under 100
 * results/s chokidar's re-reads of them took most of a core). And so is requests/: anyone can
 * flood it (100,000 junk files made chokidar re-read and remember all of them on every change:
 * ~0.5 requests served per second, ~690 MB).
 * `root` is the runs root, whether the watcher watches it or only some run directories in it.
 */
export function isWatchedDir(root: string, path: string, isDir: boolean | undefined): boolean {
  if (isDir === false) return false;
  const rel = relative(root, path);
  if (rel === '') return true;
  if (rel.startsWith('..') || isAbsolute(rel)) return false;
  const parts = rel.split(sep);
  if (parts.some((p) => p.startsWith('.'))) return false;
  if (parts.length === 1) return true;
  const area = parts[1];
  if (parts.length === 2) return area === 'claimed' || area === 'completed';
  return false;
}
