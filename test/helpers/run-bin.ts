import { spawn } from 'node:child_process';
import { BIN } from './build-dist.js';

export interface BinResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run a command as a real child process and collect its output. */
export function spawnCollect(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; stdin?: string; cwd?: string } = {}): Promise<BinResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...opts.env }, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    // Why: a child that stops reading early (an input over a limit) closes its stdin: EPIPE is expected.
    child.stdin.on('error', () => undefined);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin.end(opts.stdin ?? '');
  });
}

/** `node bin/tq.js --root ROOT ...args` as a real process (durability off unless env says otherwise). */
export function runBin(root: string, args: string[], opts: { env?: NodeJS.ProcessEnv; stdin?: string } = {}): Promise<BinResult> {
  return spawnCollect(process.execPath, [BIN, '--root', root, ...args], { ...opts, env: { TQ_DURABILITY: 'none', ...opts.env } });
}
