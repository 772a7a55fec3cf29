import { TqError } from '../../core/model/errors.js';
import { parseDuration } from '../../core/model/duration.js';
import { formatLogLine } from '../../daemon/daemon-log.js';
import { DEFAULT_FULL_EVERY, DEFAULT_INTERVAL_MS, DEFAULT_SETTLE } from '../../daemon/daemon-defaults.js';
import { durationMs, durationText, strList, type Args, type CommandSpec } from '../command.js';
import { durabilityFromEnv } from '../env-settings.js';

function fullEveryOf(args: Args): number {
  const v = Number(args['full-every']);
  if (!Number.isInteger(v) || v < 1) throw new TqError('USAGE', `--full-every must be a whole number >= 1, got ${String(args['full-every'])}`, { field: 'full-every' });
  return v;
}

/** `--commit` alone means every 5 minutes; `--commit=30s` sets the interval. */
function commitOption(args: Args): { commitIntervalMs?: number } {
  const v = args.commit;
  if (v === undefined || v === false) return {};
  return { commitIntervalMs: typeof v === 'string' && v.trim() !== '' ? parseDuration(v, 'commit') : 5 * 60_000 };
}

/** The rescan interval: at least 10ms (a shorter one would only spin). */
const MIN_INTERVAL_MS = 10;

export const daemonCommand: CommandSpec = {
  command: 'daemon [runs..]',
  describe: 'watch runs: cascade completed tickets, reap expired claims, serve file-only workers (requests/, *.result.json)',
  examples: [
    ['$0 daemon gallia', 'serve one run until Ctrl-C'],
    ['$0 daemon --json 2>daemon.log', 'serve every run under the root, also runs created later; JSON log lines'],
    ['$0 daemon --once', 'one full pass over every run, then exit (cron)'],
    ['$0 daemon gallia --commit=10m', 'also commit the run into its git repository every 10 minutes'],
    ['$0 daemon gallia --interval 500ms --settle 2s', 'rescan more often; treat moves untouched for 2s as crashed'],
  ],
  builder: (y) =>
    y
      .positional('runs', { type: 'string', array: true, describe: 'runs to serve (default: every run under the root)' })
      .option('poll', { type: 'boolean', default: false, describe: 'poll instead of inotify (network filesystems)' })
      .option('interval', { type: 'string', default: durationText(DEFAULT_INTERVAL_MS), describe: 'time between rescans, e.g. 2s, 500ms (light ones; see --full-every)' })
      .option('full-every', { type: 'number', default: DEFAULT_FULL_EVERY, describe: 'every how many rescans one is full (re-lists completed/, re-reads every claim); also kept 10x its own duration apart' })
      .option('force', { type: 'boolean', default: false, describe: 'run even if another daemon holds a run (safe: the work is idempotent)' })
      .option('once', { type: 'boolean', default: false, describe: 'one full pass, then exit' })
      .option('settle', { type: 'string', default: durationText(DEFAULT_SETTLE.movingMs), describe: 'how long a move in moving/ must stay untouched before it is treated as crashed, e.g. 5s (0: at once)' })
      .option('commit', { type: 'string', requiresArg: false, describe: 'commit each run into its git repository every interval (default 5m; --commit=30s)' })
      .option('file-settle', { type: 'string', default: durationText(DEFAULT_SETTLE.fileMs), describe: 'how long an agent file must stay unparseable before it is answered with an error, e.g. 3s (0: at once)' }),
  async run(args, io) {
    const json = args.json === true;
    let actions = 0;
    const movingMs = durationMs(args, 'settle', { zero: true }) ?? DEFAULT_SETTLE.movingMs;
    const fileMs = durationMs(args, 'file-settle', { zero: true }) ?? DEFAULT_SETTLE.fileMs;
    const intervalMs = durationMs(args, 'interval', { min: MIN_INTERVAL_MS }) ?? DEFAULT_INTERVAL_MS;
    // Why: loaded here, not at start-up: chokidar is only needed by the daemon.
    const { startDaemon } = await import('../../daemon/start-daemon.js');
    const daemon = await startDaemon({
      root: args.root,
      runs: strList(args, 'runs'),
      poll: args.poll === true,
      intervalMs,
      fullEvery: fullEveryOf(args),
      force: args.force === true,
      durability: durabilityFromEnv(process.env),
      ...commitOption(args),
      watch: args.once !== true,
      loop: args.once !== true,
      settle: { movingMs, fileMs },
      log: (entry) => {
        if (entry.run !== '') actions += 1;
        io.stderr(formatLogLine(entry, json));
      },
    });
    // Why: read now: a stopped daemon has let go of its runs.
    const runs = daemon.runIds();
    let signal: string | undefined;
    const onSignal = (sig: NodeJS.Signals): void => {
      signal = sig;
      void daemon.stop();
    };
    if (args.once === true) {
      try {
        await daemon.pass();
      } finally {
        await daemon.stop();
      }
    } else {
      // Why: once, so that a second Ctrl-C during a slow shutdown still kills the process.
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        await daemon.closed;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    }
    return {
      data: { runs, actions, once: args.once === true, ...(signal ? { signal } : {}) },
      text: args.once === true ? `daemon pass done: ${actions} action(s) on ${runs.length} run(s)` : '',
    };
  },
};
