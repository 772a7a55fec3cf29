import { TqError } from '../../core/model/errors.js';
import { parseDuration } from '../../core/model/duration.js';
import { formatLogLine } from '../../daemon/daemon-log.js';
import { join } from 'node:path';
import { DEFAULT_FULL_EVERY, DEFAULT_LOCK_TTL_MS, DEFAULT_INTERVAL_MS, DEFAULT_POLL_INTERVAL_MS, DEFAULT_SETTLE } from '../../daemon/daemon-defaults.js';
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

interface PollChoice {
  /** true: --poll; false: --no-poll; undefined: as the filesystem says. */
  poll?: boolean;
  /** --poll <duration>: the rescan interval. */
  intervalMs?: number;
  /** A run name yargs took as --poll's value (`tq daemon --poll gallia`). */
  run?: string;
}

/**
 * `--poll` alone polls (at --interval, default 1s); `--poll <duration>` (or `--poll=1s`) polls
 * at that interval; `--no-poll` forces inotify events even on a network filesystem. Why a value
 * that is no duration counts as a run name: `--poll` was a flag, and `tq daemon --poll gallia`
 * must still serve gallia.
 */
function pollChoice(args: Args): PollChoice {
  const v = args.poll;
  if (v === undefined) return {};
  if (v === false) return { poll: false };
  const text = typeof v === 'string' ? v.trim() : '';
  if (text === '' || v === true) return { poll: true };
  if (!/^\d/.test(text)) return { poll: true, run: text };
  const ms = parseDuration(text, 'poll');
  if (ms < MIN_INTERVAL_MS) throw new TqError('USAGE', `--poll "${text}" is shorter than the ${durationText(MIN_INTERVAL_MS)} it must be at least`, { field: 'poll' });
  return { poll: true, intervalMs: ms };
}

function lockTtlOption(args: Args): { lockTtlMs?: number } {
  const ms = durationMs(args, 'lock-ttl', { min: 1000 });
  return ms !== undefined ? { lockTtlMs: ms } : {};
}

/** What statfs says the runs are on (undefined: a local disk), unless --poll/--no-poll decided. */
async function remoteOf(root: string, runs: string[], choice: PollChoice): Promise<string | undefined> {
  if (choice.poll !== undefined) return undefined;
  const { detectRemoteFs } = await import('../../daemon/detect-remote-fs.js');
  return detectRemoteFs(runs.length > 0 ? join(root, runs[0] as string) : root);
}

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
      .option('poll', {
        type: 'string',
        requiresArg: false,
        describe: `poll every <duration> instead of waiting for inotify (default ${durationText(DEFAULT_POLL_INTERVAL_MS)}); on by itself on NFS, FUSE (sshfs, GlusterFS), Ceph, SMB and 9P; --no-poll: inotify events even there`,
      })
      .option('interval', { type: 'string', describe: `time between rescans, e.g. 2s, 500ms (light ones; see --full-every) [default: ${durationText(DEFAULT_INTERVAL_MS)}, ${durationText(DEFAULT_POLL_INTERVAL_MS)} when polling]` })
      .option('full-every', { type: 'number', default: DEFAULT_FULL_EVERY, describe: 'every how many rescans one is full (re-lists completed/, re-reads every claim); also kept 10x its own duration apart' })
      .option('lock-ttl', { type: 'string', describe: `how long a run's lock holds unless renewed (every rescan), e.g. 30s [default: ${durationText(DEFAULT_LOCK_TTL_MS)}]; a daemon on another host takes over once it has expired` })
      .option('standby', { type: 'boolean', default: false, describe: 'runs another daemon holds are no error: served once it is gone (its pid dead here, its lock expired on another host)' })
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
    const choice = pollChoice(args);
    const intervalMs = choice.intervalMs ?? durationMs(args, 'interval', { min: MIN_INTERVAL_MS });
    const runList = [...(choice.run !== undefined ? [choice.run] : []), ...strList(args, 'runs')];
    const remote = await remoteOf(String(args.root), runList, choice);
    // Why: loaded here, not at start-up: chokidar is only needed by the daemon.
    const { startDaemon } = await import('../../daemon/start-daemon.js');
    let signal: string | undefined;
    let started: { stop(): Promise<void> } | undefined;
    const onSignal = (sig: NodeJS.Signals): void => {
      signal = sig;
      void started?.stop();
    };
    // RACE: the handlers go in before the daemon logs 'started': a Ctrl-C right after that line
    // must stop it cleanly, not kill the process. Once, so that a second Ctrl-C during a slow
    // shutdown still kills it. (--once has no handlers: its single pass is not interrupted.)
    if (args.once !== true) {
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
    }
    try {
      const daemon = await startDaemon({
        root: args.root,
        runs: runList,
        ...(choice.poll !== undefined ? { poll: choice.poll } : {}),
        ...(remote !== undefined ? { remote } : {}),
        ...(intervalMs !== undefined ? { intervalMs } : {}),
        ...lockTtlOption(args),
        fullEvery: fullEveryOf(args),
        force: args.force === true,
        standby: args.standby === true,
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
      started = daemon;
      // Why: read now: a stopped daemon has let go of its runs.
      const runs = daemon.runIds();
      if (args.once === true) {
        try {
          await daemon.pass();
        } finally {
          await daemon.stop();
        }
      } else {
        // A signal that came while it started: stop now.
        if (signal !== undefined) void daemon.stop();
        await daemon.closed;
      }
      return {
        data: { runs, actions, once: args.once === true, ...(signal ? { signal } : {}) },
        text: args.once === true ? `daemon pass done: ${actions} action(s) on ${runs.length} run(s)` : '',
      };
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};
