import { spawn } from 'node:child_process';
import { BIN } from './build-dist.js';

export interface BinResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The child was SIGKILLed at `killAfterMs` (a hang): a failure, never a stuck test. */
  timedOut: boolean;
}

/** Run a command as a real child process and collect its output. */
export function spawnCollect(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; stdin?: string; cwd?: string; killAfterMs?: number } = {}): Promise<BinResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...opts.env }, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer =
      opts.killAfterMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, opts.killAfterMs);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    // Why: a child that stops reading early (an input over a limit) closes its stdin: EPIPE is expected.
    child.stdin.on('error', () => undefined);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
    child.stdin.end(opts.stdin ?? '');
  });
}

/** `node bin/tq.js --root ROOT ...args` as a real process (durability off unless env says otherwise). */
export function runBin(root: string, args: string[], opts: { env?: NodeJS.ProcessEnv; stdin?: string; killAfterMs?: number } = {}): Promise<BinResult> {
  return spawnCollect(process.execPath, [BIN, '--root', root, ...args], { ...opts, env: { TQ_DURABILITY: 'none', ...opts.env } });
}
