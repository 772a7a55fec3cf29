import { syncDirIfDurable } from '../store/atomic-write.js';
import { mapLimit } from '../store/run-pool.js';
import type { RunCtx } from '../store/run-context.js';

/** How many births share one group commit (one fsync per directory they touched). */
export const BIRTH_BATCH = 256;

/**
 * Run `work` over `items` (`limit` in flight) in batches of `size`, each batch committed as a
 * group: every birth of the batch adds the directories it would fsync to the batch's set
 * (birthTicket's deferSync), and each of them is fsynced once when the batch's work is done,
 * before the next batch starts and before any result is returned.
 * Crash semantics: a crash before a batch's fsyncs may lose births of that batch (their
 * registry entries are durable, so fsck and recovery see them as unpublished births, as
 * after a crash inside one birth); none of them was reported created yet.
 * Results keep input order; `work` gets each item's index in the whole input.
 */
export async function mapInBirthBatches<T, R>(
  ctx: RunCtx,
  items: AsyncIterable<T> | Iterable<T>,
  opts: { size: number; limit: number },
  work: (item: T, index: number, deferSync: Set<string>) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  for await (const batch of chunksOf(items, opts.size)) {
    const dirs = new Set<string>();
    const base = results.length;
    try {
      results.push(...(await mapLimit(batch, opts.limit, (item, i) => work(item, base + i, dirs))));
    } finally {
      // Why also when the batch failed: the births it did make are counted in the error.
      await syncDirs(ctx, dirs);
    }
  }
  return results;
}

/** fsync each directory once, all at once (independent directories; each waits for a journal commit). */
async function syncDirs(ctx: RunCtx, dirs: Set<string>): Promise<void> {
  await Promise.all([...dirs].map((dir) => syncDirIfDurable(ctx, dir)));
}

/** `items` in arrays of up to `size`, read lazily (an add of millions holds one batch at a time). */
async function* chunksOf<T>(items: AsyncIterable<T> | Iterable<T>, size: number): AsyncGenerator<T[]> {
  let batch: T[] = [];
  try {
    for await (const item of items as AsyncIterable<T>) {
      batch.push(item);
      if (batch.length >= size) {
        yield batch;
        batch = [];
      }
    }
  } catch (err) {
    // Why the items before a bad one first: an add without batches makes them before it fails
    // (and says how many); a batched one must not do less.
    if (batch.length > 0) yield batch;
    throw err;
  }
  if (batch.length > 0) yield batch;
}
