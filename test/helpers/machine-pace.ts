import { spawn } from 'node:child_process';

/**
 * How long a trivial `node -e 0` takes from spawn to exit on the idle 2-core test machine (the
 * fastest of many). The machine's pace is the time it takes now divided by this, never below 1.
 */
export const IDLE_SPAWN_MS = 40;
/**
 * The largest pace a deadline is stretched by. Why a cap: one sample taken in a burst of load
 * must not turn a 10 s wait into an hour; 10 is well past the 3-4× the suite slows down by when
 * other engineers' tests share the machine.
 */
export const MAX_PACE = 10;
/** A sample older than this is taken again: the neighbours' load comes and goes. */
const SAMPLE_TTL_MS = 15_000;

let last: { at: number; pace: number } | undefined;
let inFlight: Promise<number> | undefined;

function paceOf(spawnMs: number): number {
  return Math.min(MAX_PACE, Math.max(1, spawnMs / IDLE_SPAWN_MS));
}

function timeTrivialSpawn(): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', () => resolve(performance.now() - t0));
  });
}

/**
 * How many times slower than idle this machine is now (1 when idle, at most MAX_PACE), from the
 * time a trivial spawned `node -e 0` takes. Taken at most every 15 s per test process, unless
 * `fresh`. Why a spawn: what the slow tests wait for is mostly spawned processes starting and
 * getting CPU time, which is what a busy machine delays.
 */
export async function machinePace(opts: { fresh?: boolean } = {}): Promise<number> {
  if (!opts.fresh && last && Date.now() - last.at < SAMPLE_TTL_MS) return last.pace;
  inFlight ??= timeTrivialSpawn()
    .then((ms) => {
      last = { at: Date.now(), pace: paceOf(ms) };
      return last.pace;
    })
    .finally(() => {
      inFlight = undefined;
    });
  return inFlight;
}

/** A deadline for something that takes well under `idleMs` on an idle machine, stretched by the pace now. */
export async function paced(idleMs: number): Promise<number> {
  return Math.round(idleMs * (await machinePace()));
}

/**
 * A vitest timeout for a test whose waits are paced deadlines of at most `idleMs`: only a hang
 * guard, long enough that a paced wait always fails first, with its own message.
 */
export function hangGuard(idleMs: number): number {
  return idleMs * MAX_PACE;
}

