/**
 * The `k` newest names seen (by a time given with each), in bounded memory: a min-heap on the
 * time, so a stream of any length is ranked in O(n log k). Why: a scan of a flooded requests/
 * serves the newest requests first (a worker waiting now is newer than the flood) and must not
 * hold every name it streams.
 */
export class NewestNames {
  readonly #heap: { name: string; at: number }[] = [];

  constructor(private readonly k: number) {}

  /** Offer a name; kept if it is among the k newest so far. */
  offer(name: string, at: number): void {
    const h = this.#heap;
    if (h.length < this.k) {
      h.push({ name, at });
      this.#up(h.length - 1);
      return;
    }
    const oldest = h[0];
    if (this.k === 0 || oldest === undefined || at <= oldest.at) return;
    h[0] = { name, at };
    this.#down(0);
  }

  /** How many are kept. */
  get size(): number {
    return this.#heap.length;
  }

  /** The time of the oldest name kept (-Infinity while fewer than k were offered). */
  oldestKept(): number {
    return this.#heap.length < this.k ? Number.NEGATIVE_INFINITY : (this.#heap[0]?.at ?? Number.NEGATIVE_INFINITY);
  }

  /** The names kept, newest first. */
  newestFirst(): string[] {
    return [...this.#heap].sort((a, b) => b.at - a.at).map((e) => e.name);
  }

  #up(i: number): void {
    const h = this.#heap;
    for (let c = i; c > 0; ) {
      const p = (c - 1) >> 1;
      if ((h[p] as { at: number }).at <= (h[c] as { at: number }).at) return;
      [h[p], h[c]] = [h[c] as (typeof h)[number], h[p] as (typeof h)[number]];
      c = p;
    }
  }

  #down(i: number): void {
    const h = this.#heap;
    for (let p = i; ; ) {
      const l = 2 * p + 1;
      const r = l + 1;
      let m = p;
      if (l < h.length && (h[l] as { at: number }).at < (h[m] as { at: number }).at) m = l;
      if (r < h.length && (h[r] as { at: number }).at < (h[m] as { at: number }).at) m = r;
      if (m === p) return;
      [h[p], h[m]] = [h[m] as (typeof h)[number], h[p] as (typeof h)[number]];
      p = m;
    }
  }
}
