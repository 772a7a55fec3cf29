import { spawnSync, type SpawnSyncReturns } from 'node:child_process';

export interface Timed {
  /** Wall time of the process, start to exit. */
  ms: number;
  /** CPU time of the process and its children (user + system), from its rusage. */
  cpuMs: number;
  result: SpawnSyncReturns<string>;
}

/**
 * Wall and CPU time of one `node ...args` process. Node's child_process gives no rusage, so
 * the process runs under bash's `time` keyword, which reports the child's wall time and the
 * user + system time of its rusage (wait4): `TIMEFORMAT='%3R %3U %3S'` prints them, in
 * seconds with 3 decimals, as the last line of stderr. Bash's own start-up is not included.
 */
export function timeNode(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; discardStdout?: boolean } = {}): Timed {
  const result = spawnSync('bash', ['-c', `TIMEFORMAT='%3R %3U %3S'; time "$@"`, 'bash', process.execPath, ...args], {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    encoding: 'utf8',
    maxBuffer: 1024 * 1024 * 1024,
    stdio: ['ignore', opts.discardStdout ? 'ignore' : 'pipe', 'pipe'],
  });
  const err = (result.stderr ?? '').replace(/\n$/, '');
  const cut = err.lastIndexOf('\n');
  const last = err.slice(cut + 1);
  const m = /^(\d+\.\d+) (\d+\.\d+) (\d+\.\d+)$/.exec(last);
  if (!m) return { ms: Number.NaN, cpuMs: Number.NaN, result };
  result.stderr = cut >= 0 ? err.slice(0, cut) : '';
  return { ms: Number(m[1]) * 1000, cpuMs: (Number(m[2]) + Number(m[3])) * 1000, result };
}

/**
 * Wall and CPU time (the shell's children included) of a bash compound command run under
 * `time`, e.g. a for loop; `args` are $0, $1, ... of the script.
 */
export function timeShell(script: string, args: string[]): { ms: number; cpuMs: number; status: number | null } {
  const r = spawnSync('bash', ['-c', `TIMEFORMAT='%3R %3U %3S'; time { ${script}; } > /dev/null`, ...args], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  const m = /(\d+\.\d+) (\d+\.\d+) (\d+\.\d+)\s*$/.exec(r.stderr ?? '');
  if (!m) return { ms: Number.NaN, cpuMs: Number.NaN, status: r.status };
  return { ms: Number(m[1]) * 1000, cpuMs: (Number(m[2]) + Number(m[3])) * 1000, status: r.status };
}

/** Fail loudly: a benchmark of a command that errored measures nothing. */
export function checkOk(t: Timed, what: string, allowed: number[] = [0]): Timed {
  if (t.result.error) throw t.result.error;
  if (!allowed.includes(t.result.status ?? -1)) throw new Error(`${what} exited ${t.result.status ?? t.result.signal}: ${(t.result.stderr ?? '').slice(0, 500)}`);
  if (!Number.isFinite(t.ms)) throw new Error(`${what}: no timing line from bash's time`);
  return t;
}
