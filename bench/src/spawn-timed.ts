import { spawnSync, type SpawnSyncReturns } from 'node:child_process';

export interface Timed {
  ms: number;
  result: SpawnSyncReturns<string>;
}

/** Wall time of one `node ...args` process, start to exit. */
export function timeNode(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; discardStdout?: boolean } = {}): Timed {
  const t = performance.now();
  const result = spawnSync(process.execPath, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    encoding: 'utf8',
    maxBuffer: 1024 * 1024 * 1024,
    stdio: ['ignore', opts.discardStdout ? 'ignore' : 'pipe', 'pipe'],
  });
  return { ms: performance.now() - t, result };
}

/** Fail loudly: a benchmark of a command that errored measures nothing. */
export function checkOk(t: Timed, what: string, allowed: number[] = [0]): Timed {
  if (t.result.error) throw t.result.error;
  if (!allowed.includes(t.result.status ?? -1)) throw new Error(`${what} exited ${t.result.status ?? t.result.signal}: ${(t.result.stderr ?? '').slice(0, 500)}`);
  return t;
}
