import { dirname, basename } from 'node:path';

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
    names.set(basename(path), s);
  }

  /** Was exactly this version of the file answered already? */
  wasAnswered(path: string, fingerprint: string): boolean {
    const s = this.entry(path);
    return s !== undefined && s.answered && s.fingerprint === fingerprint;
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
