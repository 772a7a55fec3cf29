import { watch, watchFile, unwatchFile, type FSWatcher, type Stats } from 'node:fs';
import { basename } from 'node:path';

/**
 * Watchers for directories that can hold tens of thousands of tickets (completed/<stage>/,
 * claimed/<worker>/) or junk files (requests/).
 * chokidar re-reads and lstat()s a whole directory on every change in it (at 20,000 tickets
 * that took a full core under a stream of submits); one fs.watch per directory only reports
 * the names that changed. With polling, the directory's own stat changes are the signal.
 */
export class DirEntryWatchers {
  private readonly watchers = new Map<string, FSWatcher | 'polled'>();
  /** The inode each directory had when its watcher was set up. */
  private readonly inodes = new Map<string, number>();
  private closed = false;

  constructor(
    private readonly poll: boolean,
    /** `file` is the entry name when the platform reports it. */
    private readonly onChange: (dir: string, file: string | undefined) => void,
    private readonly onError: (err: unknown) => void,
  ) {}

  /**
   * Start watching `dir` (whose inode is `ino`) unless already watched (cheap to repeat). True
   * if it is new. A directory removed and made again (git drops empty directories) has a new
   * inode, and the old watcher sees nothing of it: it is replaced.
   */
  ensure(dir: string, ino: number): boolean {
    if (this.closed) return false;
    if (this.watchers.has(dir)) {
      if (this.inodes.get(dir) === ino) return false;
      this.forget(dir);
    }
    this.inodes.set(dir, ino);
    if (this.poll) {
      // Why: only a hint that something changed in the directory; what changed is found by
      // listing it (mtimes never decide anything).
      watchFile(dir, { interval: 300, persistent: true }, (curr: Stats, prev: Stats) => {
        if (curr.mtimeMs !== prev.mtimeMs || curr.ino !== prev.ino) this.onChange(dir, undefined);
      });
      this.watchers.set(dir, 'polled');
      return true;
    }
    let w: FSWatcher;
    try {
      const self = basename(dir);
      w = watch(dir, { persistent: true }, (event, file) => {
        // Why: inotify names the directory itself when it is removed or moved, and its watch
        // then dies quietly; a directory made again (git drops empty ones) may even get the same
        // inode. Drop the watcher: the next pass watches the directory again and scans it.
        if (event === 'rename' && file === self) this.forget(dir);
        this.onChange(dir, typeof file === 'string' ? file : undefined);
      });
    } catch (err) {
      this.onError(err);
      return false;
    }
    w.on('error', (err) => {
      // The directory went away (or the watch broke): forget it; the next full pass re-adds it.
      this.forget(dir);
      this.onError(err);
    });
    this.watchers.set(dir, w);
    return true;
  }

  private forget(dir: string): void {
    const w = this.watchers.get(dir);
    this.watchers.delete(dir);
    this.inodes.delete(dir);
    if (w === 'polled') unwatchFile(dir);
    else w?.close();
  }

  /** Stop watching every directory at or under `top` (a run no longer served). */
  forgetUnder(top: string): void {
    for (const dir of [...this.watchers.keys()]) if (dir === top || dir.startsWith(`${top}/`)) this.forget(dir);
  }

  /** Is `dir` watched (so that a change in it makes an event)? */
  has(dir: string): boolean {
    return this.watchers.has(dir);
  }

  /** Is `dir` watched as the directory with inode `ino` (not a removed one of the same name)? */
  watchesInode(dir: string, ino: number): boolean {
    return this.watchers.has(dir) && this.inodes.get(dir) === ino;
  }

  size(): number {
    return this.watchers.size;
  }

  close(): void {
    this.closed = true;
    for (const dir of [...this.watchers.keys()]) this.forget(dir);
  }
}
