import { spawn, type ChildProcess } from 'node:child_process';
import { MAX_JSON_BYTES } from '../core/model/json-limits.js';

export interface SpawnOptions {
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to the program's stdin, which is then closed. */
  stdin: string;
  /** Aborted: SIGTERM to the program's process group, SIGKILL `killAfter` ms later. */
  signal: AbortSignal;
  /** Aborted: SIGKILL at once. */
  killSignal: AbortSignal;
  killAfter: number;
  onStderr: (chunk: Buffer) => void;
  /** The most stdout kept (default MAX_JSON_BYTES, the output limit); more marks it too big. */
  maxStdout?: number;
}

export interface SpawnResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stdoutTooBig: boolean;
  /** The last STDERR_TAIL_BYTES of stderr. */
  stderrTail: string;
  /** Why the program could not be started (ENOENT, EACCES), when it could not. */
  spawnError?: string;
}

const STDERR_TAIL_BYTES = 8 * 1024;
/** After the program exits, how long its pipes may stay open (held by a process it left behind). */
const PIPE_CLOSE_MS = 2000;

/** Signal the program's whole process group (a shell script's children too); ESRCH: already gone. */
function signalGroup(child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, sig);
  } catch {
    child.kill(sig);
  }
}

/**
 * Run a program to its end: stdin given, stdout collected (bounded), stderr streamed to
 * `onStderr` with its tail kept. Why its own process group (detached): a stop must reach what
 * the program started (a shell's `sleep`, a model CLI's helpers), and a Ctrl-C in the worker's
 * terminal goes to the worker, which decides (grace, release), not straight to every program.
 */
export function spawnCommand(command: string, args: string[], o: SpawnOptions): Promise<SpawnResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: o.env, cwd: o.cwd, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const max = o.maxStdout ?? MAX_JSON_BYTES;
    const out: Buffer[] = [];
    let outBytes = 0;
    let tooBig = false;
    let tail = Buffer.alloc(0);
    let killTimer: ReturnType<typeof setTimeout> | undefined;
    let pipeTimer: ReturnType<typeof setTimeout> | undefined;
    let spawnError: string | undefined;
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const onStop = (): void => {
      signalGroup(child, 'SIGTERM');
      killTimer = setTimeout(() => signalGroup(child, 'SIGKILL'), o.killAfter);
    };
    const onKill = (): void => signalGroup(child, 'SIGKILL');
    child.stdout.on('data', (d: Buffer) => {
      if (outBytes + d.length > max) tooBig = true;
      else out.push(d);
      outBytes += d.length;
    });
    child.stderr.on('data', (d: Buffer) => {
      o.onStderr(d);
      tail = Buffer.concat([tail, d]);
      if (tail.length > STDERR_TAIL_BYTES) tail = tail.subarray(tail.length - STDERR_TAIL_BYTES);
    });
    // Why ignored: a program that never reads its stdin closes the pipe under us (EPIPE).
    child.stdin.on('error', () => undefined);
    child.on('error', (err: NodeJS.ErrnoException) => {
      spawnError = err.code ?? err.message;
    });
    let finished = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (finished) return;
      finished = true;
      clearTimeout(killTimer);
      clearTimeout(pipeTimer);
      o.signal.removeEventListener('abort', onStop);
      o.killSignal.removeEventListener('abort', onKill);
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stdoutTooBig: tooBig, stderrTail: tail.toString('utf8'), ...(spawnError ? { spawnError } : {}) });
    };
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      // RACE: a process the program left running may hold its pipes open forever: stop waiting.
      pipeTimer = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish(code, signal);
      }, PIPE_CLOSE_MS);
    });
    child.on('close', (code: number | null, signal: NodeJS.Signals | null) => finish(exited?.code ?? code, exited?.signal ?? signal));
    if (o.signal.aborted) onStop();
    else o.signal.addEventListener('abort', onStop, { once: true });
    if (o.killSignal.aborted) onKill();
    else o.killSignal.addEventListener('abort', onKill, { once: true });
    child.stdin.end(o.stdin);
  });
}
