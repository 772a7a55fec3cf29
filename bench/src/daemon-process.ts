import { spawn, type ChildProcess } from 'node:child_process';
import { TQ_BIN } from './ticketq.js';

export interface DaemonProcess {
  pid: number;
  /** Everything it wrote on stderr so far. */
  log(): string;
  exited(): { code: number | null; signal: string | null } | undefined;
  stop(): Promise<void>;
}

/** `node bin/tq.js --root ROOT daemon RUN`, as a user would start it. */
export function spawnDaemon(root: string, runs: string[], env: NodeJS.ProcessEnv = process.env): DaemonProcess {
  // Profiling aid: TQ_BENCH_DAEMON_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" npm run bench -- --only 5
  const nodeArgs = (process.env.TQ_BENCH_DAEMON_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const proc: ChildProcess = spawn(process.execPath, [...nodeArgs, TQ_BIN, '--root', root, 'daemon', ...runs], { stdio: ['ignore', 'ignore', 'pipe'], env });
  let stderr = '';
  let exit: { code: number | null; signal: string | null } | undefined;
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (d: string) => {
    // Why: keep only the tail; a busy daemon logs every action.
    stderr = (stderr + d).slice(-20_000);
  });
  const exitP = new Promise<void>((resolve) =>
    proc.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve();
    }),
  );
  return {
    pid: proc.pid ?? -1,
    log: () => stderr,
    exited: () => exit,
    async stop() {
      if (exit) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exitP;
      clearTimeout(timer);
    },
  };
}

/** A short reason when the daemon is not usable (yet), from how it exited. */
export function daemonProblem(d: DaemonProcess): string | undefined {
  const e = d.exited();
  if (!e) return undefined;
  const tail = d.log().trim().split('\n').slice(-2).join(' / ');
  if (/Unknown (argument|command)|Did you mean/i.test(d.log())) return 'pending daemon (`tq daemon` is not available yet)';
  return `daemon exited (${e.code ?? e.signal}): ${tail.slice(0, 300)}`;
}
