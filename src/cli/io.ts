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
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    // A getter: touching process.stdin loads the tty, net and stream machinery, which only the
    // commands that read stdin need.
    get stdin() {
      return process.stdin;
    },
    env: process.env,
    isTTY: Boolean(process.stdout.isTTY),
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
