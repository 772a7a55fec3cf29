/**
 * Run `step` for every item, at most `limit` at a time. Why: each file fsck reads safely takes
 * several thread-pool round trips (open, fstat, read, close); one at a time, fsck waited on
 * them most of its time (a 5,000-ticket census took 8 s instead of 1.5 s).
 */
export async function forEachLimited<T>(items: readonly T[], limit: number, step: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await step(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
