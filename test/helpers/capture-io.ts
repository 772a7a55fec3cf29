import { Readable } from 'node:stream';
import type { CliIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';

export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

/** A CliIo that records what the CLI prints; `stdin` is the given text. */
export function captureIo(stdin = '', env: NodeJS.ProcessEnv = {}): { io: CliIo; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    io: {
      stdout: (t) => {
        out += t;
      },
      stderr: (t) => {
        err += t;
      },
      stdin: Readable.from([Buffer.from(stdin)]),
      env,
      isTTY: false,
    },
    out: () => out,
    err: () => err,
  };
}

/** Run the CLI in-process: `tq --root ROOT ...argv`. */
export async function runTq(root: string, argv: string[], stdin = ''): Promise<Captured> {
  const c = captureIo(stdin);
  const code = await main(['--root', root, ...argv], c.io);
  return { code, stdout: c.out(), stderr: c.err() };
}

/** Parse the single JSON object a --json command prints. */
export function jsonOf(text: string): Record<string, unknown> {
  const trimmed = text.trim();
  if (trimmed.split('\n').length !== 1) throw new Error(`--json printed more than one line:\n${text}`);
  return JSON.parse(trimmed) as Record<string, unknown>;
}
