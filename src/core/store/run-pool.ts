/** Run `work` over items with at most `limit` in flight; keeps input order in the results. */
export async function mapLimit<T, R>(items: AsyncIterable<T> | Iterable<T>, limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  const running = new Set<Promise<void>>();
  let index = 0;
  let failure: unknown;
  try {
    for await (const item of items as AsyncIterable<T>) {
      if (failure !== undefined) break;
      const i = index;
      index += 1;
      const p: Promise<void> = work(item, i).then(
        (r) => {
          results[i] = r;
        },
        (err: unknown) => {
          failure ??= err;
        },
      );
      const tracked = p.finally(() => running.delete(tracked));
      running.add(tracked);
      if (running.size >= limit) await Promise.race(running);
    }
  } catch (err) {
    // Why: the items source failed (e.g. a bad input line); work already started must still
    // finish before we return, or the caller would see an error while files are being written.
    failure ??= err;
  }
  await Promise.all(running);
  if (failure !== undefined) throw failure;
  return results;
}
