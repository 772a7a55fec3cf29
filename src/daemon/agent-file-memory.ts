import { dirname, basename } from 'node:path';

/**
 * Most files remembered per directory. Why a cap: a flood of junk files (100,000 in requests/)
 * must not grow the daemon; past the cap a file is simply not remembered, which only delays its
 * answer (an unparseable one is not answered until the directory has drained and it is seen
 * again) or answers it once more.
 */
export const MAX_REMEMBERED_PER_DIR = 4096;

interface Sighting {
  fingerprint: string;
  firstSeenMs: number;
  answered: boolean;
}

/**
 * What the daemon remembers (in memory only) about files agents write: when it first saw an
 * unparseable version, and which versions it already answered. A restart forgets it all, which
 * only means a file is answered once more.
 */
export class AgentFileMemory {
  private readonly dirs = new Map<string, Map<string, Sighting>>();

  private entry(path: string): Sighting | undefined {
    return this.dirs.get(dirname(path))?.get(basename(path));
  }

  private put(path: string, s: Sighting): void {
    const dir = dirname(path);
    let names = this.dirs.get(dir);
    if (!names) this.dirs.set(dir, (names = new Map()));
    const name = basename(path);
    if (names.size >= MAX_REMEMBERED_PER_DIR && !names.has(name)) return;
    names.set(name, s);
  }

  /** Was exactly this version of the file answered already? */
  wasAnswered(path: string, fingerprint: string): boolean {
    const s = this.entry(path);
    return s !== undefined && s.answered && s.fingerprint === fingerprint;
  }

  /** Was some version of this file answered (refused) already, whichever it is now? */
  wasAnsweredAnyVersion(path: string): boolean {
    return this.entry(path)?.answered === true;
  }

  /** Is anything remembered about this file? */
  remembers(path: string): boolean {
    return this.entry(path) !== undefined;
  }

  markAnswered(path: string, fingerprint: string, nowMs: number): void {
    this.put(path, { fingerprint, firstSeenMs: nowMs, answered: true });
  }

  /**
   * Note that this version is not usable yet (it may still be being written). True once this
   * exact version has stayed so for `settleMs`.
   */
  hasSettled(path: string, fingerprint: string, nowMs: number, settleMs: number): boolean {
    const s = this.entry(path);
    if (s === undefined || s.fingerprint !== fingerprint) {
      this.put(path, { fingerprint, firstSeenMs: nowMs, answered: false });
      // With the directory's memory full the sighting is not kept: it waits until there is room.
      return settleMs <= 0;
    }
    return nowMs - s.firstSeenMs >= settleMs;
  }

  forget(path: string): void {
    const dir = dirname(path);
    const names = this.dirs.get(dir);
    if (!names) return;
    names.delete(basename(path));
    if (names.size === 0) this.dirs.delete(dir);
  }

  /** Drop what is remembered about files of `dir` that are no longer there. */
  prune(dir: string, present: ReadonlySet<string>): void {
    const names = this.dirs.get(dir);
    if (!names) return;
    for (const name of names.keys()) if (!present.has(name)) names.delete(name);
    if (names.size === 0) this.dirs.delete(dir);
  }

  /** Is anything remembered about files of `dir` (say, one still settling)? */
  hasDir(dir: string): boolean {
    return this.dirs.has(dir);
  }

  /** How many files are remembered (for tests and the RSS measurement). */
  size(): number {
    let n = 0;
    for (const names of this.dirs.values()) n += names.size;
    return n;
  }
}
