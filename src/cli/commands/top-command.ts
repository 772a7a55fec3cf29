import type { Argv } from 'yargs';
import { TqError } from '../../core/model/errors.js';
import { openRunFromArgs } from '../common.js';
import { durationMs, str, type Args, type CommandSpec } from '../command.js';
import type { CliIo, CommandOutput } from '../io.js';

/** The options `tq top` and `tq status --watch` share. */
export function withLiveOptions(y: Argv): Argv {
  return y
    .option('interval', { type: 'string', default: '2s', describe: 'time between refreshes, e.g. 2s, 500ms' })
    .option('count', { type: 'number', describe: 'stop after N refreshes (default: until Ctrl-C)' })
    .option('once', { type: 'boolean', default: false, describe: 'one snapshot, then exit (same as --count 1)' })
    .option('window', { type: 'string', default: '10m', describe: 'completions in this window give the rate and ETA' });
}

export async function runLiveCommand(args: Args, io: CliIo): Promise<CommandOutput> {
  const ctx = await openRunFromArgs({ ...args, run: str(args, 'run') });
  const rawCount = args.count;
  if (rawCount !== undefined && (typeof rawCount !== 'number' || !Number.isInteger(rawCount) || rawCount < 1)) {
    throw new TqError('USAGE', `--count ${String(rawCount)} is not a positive whole number`, { field: 'count' });
  }
  const count = args.once === true ? 1 : (rawCount as number | undefined);
  // Why lazily: `tq status` imports this module for its --watch options, not for the live view.
  const { runLiveView } = await import('../render/live-view.js');
  const snapshot = await runLiveView(ctx, io, {
    intervalMs: durationMs(args, 'interval') ?? 2000,
    windowMs: durationMs(args, 'window') ?? 600_000,
    json: args.json,
    ...(count !== undefined ? { count } : {}),
  });
  // Everything people read was already drawn; --json prints the last snapshot.
  return { data: { ...snapshot }, text: '' };
}

export const topCommand: CommandSpec = {
  command: 'top <run>',
  describe: 'live progress: per-stage bars, rate and ETA, claims and leases, stalled claims, recent concerns',
  examples: [
    ['$0 top gallia', 'redraws every 2s until Ctrl-C'],
    ['$0 top gallia --interval 30s >> progress.log', 'one status line per 30s when piped'],
    ['$0 top gallia --once --json', 'one snapshot as JSON'],
  ],
  builder: (y) => withLiveOptions(y.positional('run', { type: 'string', describe: 'run id' })),
  run: runLiveCommand,
};
