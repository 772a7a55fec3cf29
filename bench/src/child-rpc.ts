import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Every measured system runs in fresh child processes (no JIT warmth or heap carried over
 * from the harness). The harness drives them with one request at a time over the IPC channel,
 * so that phases (create, then process) start together across processes.
 */
export type Message = Record<string, unknown>;

const HERE = dirname(fileURLToPath(import.meta.url));

export interface Child {
  pid: number;
  call(msg: Message): Promise<Message>;
  stop(): Promise<void>;
}

interface Reply {
  ok: boolean;
  result?: Message;
  error?: string;
}

function isReply(v: unknown): v is Reply {
  return typeof v === 'object' && v !== null && typeof (v as { ok?: unknown }).ok === 'boolean';
}

/** Fork bench/dist/<script>.js and wait until it says it is ready. */
export async function startChild(script: string, execArgv: string[] = []): Promise<Child> {
  const proc: ChildProcess = fork(join(HERE, `${script}.js`), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
  let pending: { resolve: (m: Message) => void; reject: (e: Error) => void } | undefined;
  let exited = false;
  const exitedP = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.once('exit', (code, signal) => {
    exited = true;
    pending?.reject(new Error(`${script} exited (${code ?? signal}) before replying`));
    pending = undefined;
  });
  proc.on('message', (raw: unknown) => {
    const p = pending;
    pending = undefined;
    if (!p) return;
    if (!isReply(raw)) p.reject(new Error(`${script}: malformed reply ${JSON.stringify(raw)}`));
    else if (raw.ok) p.resolve(raw.result ?? {});
    else p.reject(new Error(`${script}: ${raw.error ?? 'failed'}`));
  });
  const call = (msg: Message): Promise<Message> =>
    new Promise<Message>((resolve, reject) => {
      if (exited) return reject(new Error(`${script} is not running`));
      pending = { resolve, reject };
      proc.send(msg);
    });
  await call({ cmd: 'ping' });
  return {
    pid: proc.pid ?? -1,
    call,
    async stop() {
      if (!exited) {
        proc.send({ cmd: 'exit' });
        const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        await exitedP;
        clearTimeout(timer);
      }
    },
  };
}

/** Child side: answer each request with the handler's result. */
export function serveRequests(handler: (msg: Message) => Promise<Message>): void {
  process.on('message', (raw: unknown) => {
    const msg = (typeof raw === 'object' && raw !== null ? raw : {}) as Message;
    if (msg.cmd === 'exit') {
      process.disconnect?.();
      process.exit(0);
    }
    if (msg.cmd === 'ping') {
      process.send?.({ ok: true, result: {} });
      return;
    }
    if (msg.cmd === 'cpu') {
      // Why here: every measured child answers it the same way (user + system of all its threads, µs).
      const u = process.cpuUsage();
      process.send?.({ ok: true, result: { cpuUs: u.user + u.system } });
      return;
    }
    handler(msg).then(
      (result) => process.send?.({ ok: true, result }),
      (err: unknown) => process.send?.({ ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    );
  });
}

export function field(msg: Message, key: string): string {
  const v = msg[key];
  if (typeof v !== 'string') throw new Error(`message field ${key} is not a string: ${JSON.stringify(msg)}`);
  return v;
}

export function numField(msg: Message, key: string): number {
  const v = msg[key];
  if (typeof v !== 'number') throw new Error(`message field ${key} is not a number: ${JSON.stringify(msg)}`);
  return v;
}
