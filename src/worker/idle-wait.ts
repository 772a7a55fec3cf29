/** The first wait after a claim found nothing (ms); it doubles up to the poll interval. */
export const MIN_POLL_MS = 50;

/**
 * Waits between claims that found nothing: doubling from MIN_POLL_MS up to `maxMs`, each
 * spread by ±25%. Why the jitter: workers started together would otherwise poll in lockstep
 * and all hit the same new ticket's rename at once.
 */
export class IdleBackoff {
  private current: number;

  constructor(
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {
    this.current = Math.min(MIN_POLL_MS, maxMs);
  }

  next(): number {
    const base = this.current;
    this.current = Math.min(this.maxMs, this.current * 2);
    return Math.max(1, Math.round(base * (0.75 + 0.5 * this.random())));
  }

  reset(): void {
    this.current = Math.min(MIN_POLL_MS, this.maxMs);
  }
}

/** Wakes every sleeper at once (a shutdown must not wait out a poll interval). */
export class Sleepers {
  private readonly waiting = new Set<() => void>();

  /** Resolve after `ms`, or sooner on wakeAll(). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiting.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiting.add(done);
    });
  }

  wakeAll(): void {
    for (const wake of [...this.waiting]) wake();
  }
}
