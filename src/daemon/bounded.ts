/**
 * Concurrency helper of the daemon (bounded fan-out is core's mapLimit). Operations on
 * different tickets run side by side (each is fenced on disk, exactly as between two
 * processes); the same file or ticket is never handled twice at once within one daemon, so a
 * result is not submitted twice by a hint and a pass.
 */

/** Run at most one function per key at a time; others with the same key wait their turn. */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async with<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key);
    let release: () => void = () => undefined;
    const mine = new Promise<void>((r) => {
      release = r;
    });
    const tail = (prev ?? Promise.resolve()).then(() => mine);
    this.tails.set(key, tail);
    try {
      if (prev) await prev;
      return await fn();
    } finally {
      release();
      // Why: forget the key once nobody queued behind us (the map stays as small as the work).
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  size(): number {
    return this.tails.size;
  }
}
