import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { ERROR_CODES, TqError, type ErrorCode } from '../../core/model/errors.js';
import { openRunFromArgs } from '../common.js';
import { optStr, type Args, type CommandSpec } from '../command.js';
import type { CliIo } from '../io.js';

const DEFAULT_PORT = 7337;

function portOf(args: Args): number {
  const v = args.port;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535) throw new TqError('USAGE', `--port ${String(v)} is not a port (0-65535; 0: any free port)`, { field: 'port' });
  return v;
}

function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === '::1' || host === 'localhost';
}

/** Open the address in the desktop's browser; a machine without one only gets a note. */
function openBrowser(url: string, io: CliIo): void {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const child = spawn(cmd, [url], { stdio: 'ignore', detached: true });
  child.on('error', () => io.stderr(`board: could not start ${cmd}; open ${url} yourself\n`));
  child.unref();
}

/**
 * Why: the board's code is a bundle of its own (dist/bundle/board.cjs), with its own copy of
 * TqError; an error from it is made a TqError of the CLI's, so it maps to its exit code.
 */
function asCliError(err: unknown): unknown {
  if (err instanceof TqError || !(err instanceof Error) || !('code' in err)) return err;
  const code = (err as { code: unknown }).code;
  return typeof code === 'string' && code in ERROR_CODES ? new TqError(code as ErrorCode, err.message) : err;
}

async function serveUntilSignal(close: () => Promise<void>): Promise<string> {
  return new Promise((resolveSignal) => {
    const onSignal = (sig: NodeJS.Signals): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      void close().finally(() => resolveSignal(sig));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
}

export const boardCommand: CommandSpec = {
  command: 'board [run]',
  describe: 'a live web page of the runs: progress, tickets, DAG, stats (read-only unless --allow-actions)',
  examples: [
    ['$0 board', 'every run under the root at http://127.0.0.1:7337/ until Ctrl-C'],
    ['$0 board gallia --allow-actions', 'open at gallia; approve, requeue and release from the page'],
    ['$0 board --host 0.0.0.0 --port 8080', 'on the network: prints the address with a generated token'],
  ],
  builder: (y) =>
    y
      .positional('run', { type: 'string', describe: 'the run to open at (default: the overview of every run)' })
      .option('port', { type: 'number', default: DEFAULT_PORT, describe: 'TCP port (0: any free port)' })
      .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to listen on; any but 127.0.0.1/::1 needs a token' })
      .option('token', { type: 'string', describe: 'secret every request must carry (generated and printed when the host is not loopback)' })
      .option('open', { type: 'boolean', default: false, describe: 'open the page in the desktop browser' })
      .option('allow-actions', { type: 'boolean', default: false, describe: 'let the page approve, requeue and release stalled claims (behind a confirmation)' }),
  async run(args, io) {
    const run = optStr(args, 'run');
    if (run !== undefined) await openRunFromArgs({ ...args, run });
    const host = optStr(args, 'host') ?? '127.0.0.1';
    const given = optStr(args, 'token');
    // Why: loaded here, not at start-up: the board (server, watcher) is only needed by `tq board`.
    const { startBoard, newBoardToken } = await import('../../board/board-entry.js');
    const token = given ?? (isLoopback(host) ? undefined : newBoardToken());
    const board = await startBoard({ root: resolve(String(args.root)), port: portOf(args), host, allowActions: args['allow-actions'] === true, ...(token !== undefined ? { token } : {}) }).catch((err: unknown) => {
      throw asCliError(err);
    });
    // RACE: the handlers go in before the line that says Ctrl-C stops it: a Ctrl-C right after
    // that line must close the board cleanly, not kill the process.
    const stopped = serveUntilSignal(board.close);
    const page = `${board.url}${run !== undefined ? `run/${encodeURIComponent(run)}` : ''}${token !== undefined ? `?token=${encodeURIComponent(token)}` : ''}`;
    io.stderr(`board: ${page}${args['allow-actions'] === true ? ' (actions allowed)' : ' (read-only)'}; Ctrl-C stops it\n`);
    if (token !== undefined && given === undefined) io.stderr(`board: token ${token} (every request needs it)\n`);
    if (args.open === true) openBrowser(page, io);
    const signal = await stopped;
    return { data: { url: board.url, port: board.port, signal }, text: '' };
  },
};
