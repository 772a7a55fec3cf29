import { hintKey, type Hint } from './classify-hint.js';

export interface HintQueueOptions {
  /** Most hints served at the same time. */
  concurrency: number;
  /** Do the work a hint points at. */
  serve: (hint: Hint) => Promise<void>;
  /** A serve that failed (the queue goes on; the next pass retries). */
  onError: (err: unknown) => void;
}

/**
 * Watcher hints waiting to be served: agents' hints first (agents wait on us), cascades after;
 * at most `concurrency` at a time, at most one per hint key. A hint added while an equal one
 * (same key) waits replaces it; one added while its key is being served waits, and is served
 * again once the running one ends (the running one may have listed the directory too early).
 */
export class HintQueue {
  readonly #opts: HintQueueOptions;
  /** Waiting hints by key, one map per priority, highest first; insertion order within each. */
  readonly #lanes: [agents: Map<string, Hint>, cascades: Map<string, Hint>] = [new Map(), new Map()];
  readonly #running = new Map<string, { hint: Hint; done: Promise<void> }>();
  #paused = false;
  #closed = false;

  constructor(opts: HintQueueOptions) {
    this.#opts = opts;
  }

  /** Queue a hint (ignored once closed). */
  add(hint: Hint): void {
    if (this.#closed) return;
    this.#laneOf(hint).set(hintKey(hint), hint);
    this.#pump();
  }

  /** Forget a waiting hint (one running goes on). True if it was waiting. */
  drop(hint: Hint): boolean {
    return this.#laneOf(hint).delete(hintKey(hint));
  }

  /** Start no hint until resume(); those running go on. */
  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    this.#pump();
  }

  /** Drop the waiting hints and refuse new ones for good; those running go on (see onIdle). */
  close(): void {
    this.#closed = true;
    for (const lane of this.#lanes) lane.clear();
  }

  /**
   * Settles once no hint runs (but those `ignore` says; say, one that waits on the caller).
   * Hints started meanwhile are waited for too, so pause() or close() first to reach an end.
   */
  async onIdle(ignore: (hint: Hint) => boolean = () => false): Promise<void> {
    const waited = (): Promise<void>[] => [...this.#running.values()].filter((r) => !ignore(r.hint)).map((r) => r.done);
    for (let tasks = waited(); tasks.length > 0; tasks = waited()) await Promise.all(tasks);
  }

  /** Hints waiting (not running). */
  get waiting(): number {
    return this.#lanes[0].size + this.#lanes[1].size;
  }

  /** Hints running. */
  get running(): number {
    return this.#running.size;
  }

  #laneOf(hint: Hint): Map<string, Hint> {
    return hint.kind === 'completed' ? this.#lanes[1] : this.#lanes[0];
  }

  #pump(): void {
    for (const lane of this.#lanes) {
      for (const [key, hint] of lane) {
        if (this.#closed || this.#paused || this.#running.size >= this.#opts.concurrency) return;
        // Why: a key being served stays queued; it is served again once the running one ends.
        if (this.#running.has(key)) continue;
        lane.delete(key);
        this.#start(key, hint);
      }
    }
  }

  #start(key: string, hint: Hint): void {
    const done = this.#opts
      .serve(hint)
      .catch((err: unknown) => this.#opts.onError(err))
      .finally(() => {
        this.#running.delete(key);
        this.#pump();
      });
    this.#running.set(key, { hint, done });
  }
}
