import { spawn, type ChildProcess } from 'node:child_process';
import { BIN } from './build-dist.js';
import { waitFor } from './wait-for.js';

export interface BoardProcess {
  /** http://host:port/ as the board printed it. */
  url: string;
  port: number;
  /** The token it printed, when it generated one. */
  token?: string;
  output: () => string;
  stop: () => Promise<number | null>;
}

/** Start `tq board --port 0 ...` (the built bin) and wait for the address it prints. */
export async function startBoardProcess(root: string, args: string[]): Promise<BoardProcess> {
  const child: ChildProcess = spawn(process.execPath, [BIN, 'board', '--port', '0', ...args], { env: { ...process.env, TQ_ROOT: root, TQ_DURABILITY: 'none' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const match = await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`tq board exited ${child.exitCode}: ${out}`);
      return /board: (http:\/\/\S+?:(\d+)\/)/.exec(out) ?? undefined;
    },
    15_000,
    'tq board to print its address',
  );
  const token = /board: token (\S+)/.exec(out)?.[1];
  return {
    url: match[1] as string,
    port: Number(match[2]),
    ...(token !== undefined ? { token } : {}),
    output: () => out,
    stop: async () => {
      child.kill('SIGINT');
      return exited;
    },
  };
}
