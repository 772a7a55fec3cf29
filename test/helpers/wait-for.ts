import { machinePace } from './machine-pace.js';

/**
 * Poll `fn` until it returns a truthy value (or resolves to one). Tests use this instead of
 * fixed sleeps. `idleMs` is the deadline on an idle machine; it is stretched by the machine's
 * pace (test/helpers/machine-pace.ts), so a busy machine gets proportionally longer. Why it
 * looks at the pace again before failing: the neighbours' load may have risen during the wait.
 */
export async function waitFor<T>(fn: () => T | Promise<T>, idleMs = 5000, what = 'condition'): Promise<NonNullable<T>> {
  const start = Date.now();
  let pace = await machinePace();
  let delay = 5;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() - start > idleMs * pace) {
      const now = await machinePace({ fresh: true });
      if (now <= pace) {
        throw new Error(`waitFor: ${what} not met within ${Date.now() - start} ms (${idleMs} ms on an idle machine, × ${pace.toFixed(1)} for the load now)`);
      }
      pace = now;
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 100);
  }
}
