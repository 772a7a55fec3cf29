import { fstatSync, writeSync } from 'node:fs';
import type { Readable } from 'node:stream';

/** Where the CLI reads and writes; tests pass their own. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  stdin: Readable;
  env: NodeJS.ProcessEnv;
  /** Is stdout a terminal (live redraws, colour)? */
  isTTY: boolean;
}

export function processIo(): CliIo {
  let isTTY: boolean | undefined;
  return {
    stdout: directWriter(1, () => process.stdout),
    stderr: directWriter(2, () => process.stderr),
    // Getters: touching process.stdin or process.stdout loads the tty, net and stream machinery
    // (~3 ms of a one-shot command), which only the commands that read stdin or draw need.
    get stdin() {
      return process.stdin;
    },
    env: process.env,
    get isTTY() {
      isTTY ??= isTerminal(1);
      return isTTY;
    },
  };
}

/**
 * Is `fd` a terminal? Only a character device can be one: for a pipe or a file (the usual case
 * for scripts and agents) fstat answers without loading node:tty.
 */
function isTerminal(fd: number): boolean {
  try {
    if (!fstatSync(fd).isCharacterDevice()) return false;
  } catch {
    return false;
  }
  return process.getBuiltinModule('node:tty').isatty(fd);
}

/**
 * Write to `fd` directly (fs.writeSync), without making process.stdout/stderr. Why: the stream
 * objects load the tty, net and stream modules, several ms of a command that prints one line.
 * Once a write cannot go straight through (EAGAIN on a non-blocking pipe that is full, or any
 * other error), this and every later write goes through the stream, so the order is kept.
 */
export function directWriter(fd: number, stream: () => Pick<NodeJS.WritableStream, 'write'>): (text: string) => void {
  let viaStream = false;
  return (text) => {
    if (!viaStream) {
      const bytes = Buffer.from(text, 'utf8');
      let at = 0;
      try {
        while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at);
        return;
      } catch {
        viaStream = true;
        if (at >= bytes.length) return;
        stream().write(bytes.subarray(at));
        return;
      }
    }
    stream().write(text);
  };
}

/** What a command hands back: data for --json, text for people. */
export interface CommandOutput {
  data: Record<string, unknown>;
  text: string;
  exitCode?: number;
  /** The command wrote its --json output to stdout itself (too big for one string): print nothing. */
  streamed?: boolean;
}
