import { TqError } from '../../core/model/errors.js';
import { MAX_DURATION, parseDuration } from '../../core/model/duration.js';
import { stageConfig } from '../../core/model/pipeline.js';
import { commandHandler, type CommandOptions } from '../../worker/command-handler.js';
import { DEFAULT_LOG_CAP } from '../../worker/attempt-log.js';
import { findExecutable } from '../../worker/find-executable.js';
import { formatElapsed } from '../../worker/format-elapsed.js';
import { shellWords } from '../../worker/shell-words.js';
import { MAX_CONCURRENCY, Worker } from '../../worker/worker.js';
import type { WorkerOptions } from '../../worker/worker-types.js';
import { openRunFromArgs } from '../common.js';
import { optStr, str, type Args, type CommandSpec } from '../command.js';
import type { CliIo, CommandOutput } from '../io.js';
import { startWorkProgress, summaryText, type WorkProgress } from '../render/work-progress.js';

/** Exit codes after a signal, as shells report them (128 + the signal's number). */
const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

function durationArg(args: Args, key: string): number | undefined {
  const v = optStr(args, key);
  return v === undefined ? undefined : parseDuration(v, key);
}

function wholeNumberArg(args: Args, key: string, min: number, max: number): number | undefined {
  const v = args[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new TqError('USAGE', `--${key} ${String(v)} is not a whole number from ${min} to ${max}`, { field: key });
  return v;
}

/** The program after `--`, and its arguments. */
function commandOf(args: Args): { command: string; args: string[] } {
  const rest = (args['--'] as unknown[] | undefined)?.map(String) ?? [];
  const [command, ...more] = rest;
  if (command === undefined || command.trim() === '') {
    throw new TqError('USAGE', 'name the program to run after --', { field: '--', hint: 'e.g. tq work gallia --stage translate -- ./examples/llm-translate.sh' });
  }
  return { command, args: more };
}

/** --heartbeat: a duration, or `off` (no heartbeats: the lease runs out while the program runs). */
function heartbeatArg(args: Args): number | false | undefined {
  const v = optStr(args, 'heartbeat');
  if (v === undefined) return undefined;
  return v.trim() === 'off' ? false : parseDuration(v, 'heartbeat');
}

/** Every option checked before the run is opened: a bad one is a usage error that names it. */
function workerOptionsOf(args: Args): WorkerOptions & { grace: number } {
  const lease = optStr(args, 'lease');
  if (lease !== undefined) parseDuration(lease, 'lease');
  const worker = optStr(args, 'worker');
  const timeout = durationArg(args, 'timeout');
  const heartbeat = heartbeatArg(args);
  const killAfter = durationArg(args, 'kill-after') ?? 5000;
  return {
    concurrency: wholeNumberArg(args, 'concurrency', 1, MAX_CONCURRENCY) ?? 1,
    ...(worker !== undefined ? { workerId: worker } : {}),
    ...(lease !== undefined ? { lease } : {}),
    ...(heartbeat !== undefined ? { heartbeatEvery: heartbeat } : {}),
    ...(timeout !== undefined ? { timeout } : {}),
    pollInterval: durationArg(args, 'poll') ?? 1000,
    // Why longer than --kill-after: the program gets its SIGKILL before the worker gives up on it.
    abandonAfter: killAfter + 5000,
    untilEmpty: args['until-empty'] === true,
    grace: durationArg(args, 'grace') ?? 30_000,
  };
}

function commandOptionsOf(args: Args, io: CliIo): CommandOptions {
  const { command, args: rest } = commandOf(args);
  const outputFile = optStr(args, 'output-file');
  const reviewExit = wholeNumberArg(args, 'review-exit', 1, 255);
  return {
    command,
    args: rest,
    env: io.env,
    killAfter: durationArg(args, 'kill-after') ?? 5000,
    logCap: wholeNumberArg(args, 'log-cap', 0, 1024 * 1024 * 1024) ?? DEFAULT_LOG_CAP,
    ...(outputFile !== undefined ? { outputFile } : {}),
    ...(reviewExit !== undefined ? { reviewExit } : {}),
  };
}

/**
 * SIGINT/SIGTERM: the first stops claiming and gives running programs `graceMs` to finish, then
 * releases their tickets; a second stops them at once. Returns the signal received, if any.
 */
function handleSignals(worker: Worker, graceMs: number, progress: WorkProgress): { dispose(): void; received(): string | undefined } {
  let received: string | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (received === undefined) {
      received = sig;
      progress.note(`${sig}: claiming no more; ${worker.runningCount} running program(s) get ${formatElapsed(graceMs)} to finish, then their tickets are released (${sig === 'SIGINT' ? 'Ctrl-C' : sig} again: stop them now)`);
      void worker.close({ grace: graceMs });
    } else {
      progress.note(`${sig} again: stopping every program now and releasing its ticket`);
      void worker.close({ force: true });
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
    received: () => received,
  };
}

async function runWork(args: Args, io: CliIo): Promise<CommandOutput> {
  const { grace, ...options } = workerOptionsOf(args);
  const cmd = commandOptionsOf(args, io);
  const ctx = await openRunFromArgs({ ...args, run: str(args, 'run') });
  const stage = str(args, 'stage');
  stageConfig(ctx.config.pipeline, stage.trim());
  if ((await findExecutable(cmd.command, io.env)) === undefined) {
    throw new TqError('USAGE', `cannot run ${cmd.command}: no such executable file${cmd.command.includes('/') ? '' : ' on $PATH'}`, { field: '--', hint: 'give a path to an executable (chmod +x) or a program on $PATH' });
  }
  const worker = new Worker(ctx, stage, commandHandler(cmd), options);
  const progress = await startWorkProgress(worker, io, { json: args.json, runId: ctx.runId });
  // RACE: the handlers go in before the first line: a Ctrl-C right after it must stop claiming
  // and release, not kill the process with tickets held.
  const signals = handleSignals(worker, grace, progress);
  if (!args.json) progress.note(`working on ${ctx.runId}/${worker.stage} as ${worker.workerId}, ${options.concurrency} at a time: ${shellWords([cmd.command, ...cmd.args])}`);
  let summary;
  try {
    summary = await worker.run();
  } finally {
    signals.dispose();
    progress.stop();
  }
  const sig = signals.received();
  return { data: { run_id: ctx.runId, ...summary, stopped_by: sig ?? null }, text: summaryText(summary, ctx.runId), exitCode: sig ? (SIGNAL_EXIT[sig] ?? 1) : summary.failed > 0 ? 1 : 0 };
}

export const workCommand: CommandSpec = {
  command: 'work <run>',
  describe: 'run a program once per ticket of a stage (input on stdin, output on stdout): heartbeats, retries, logs; no daemon needed',
  examples: [
    ['$0 work gallia --stage translate --concurrency 4 -- ./examples/llm-translate.sh', 'four programs at a time, forever'],
    ['$0 work gallia --stage parse --until-empty --timeout 2m -- python3 parse.py {input}', 'until the stage is drained; {input} is a file holding the input JSON'],
  ],
  // Why: everything after `--` is the program and its arguments, untouched by the parser.
  afterDashDash: '<program> [args...]',
  builder: (y) =>
    y
      .usage('tq work <run> --stage <stage> [options] -- <program> [args...]\n\nRun a program once per ticket: input_data on stdin, output JSON on stdout; exit 0 completes, another exit fails the attempt (retried until max_attempts).')
      .positional('run', { type: 'string', describe: 'the run whose tickets to work on' })
      .option('stage', { type: 'string', demandOption: true, describe: 'the stage whose tickets to work on' })
      .option('concurrency', { type: 'number', default: 1, describe: 'programs running at once' })
      .option('worker', { type: 'string', describe: 'worker id (default <hostname>-<pid>)' })
      .option('lease', { type: 'string', describe: `lease of each claim, at most ${MAX_DURATION} (default: the stage lease); heartbeats renew it` })
      .option('timeout', { type: 'string', describe: 'stop a program running longer than this (SIGTERM, then SIGKILL after --kill-after); the attempt fails' })
      .option('kill-after', { type: 'string', default: '5s', describe: 'SIGKILL a program this long after its SIGTERM' })
      .option('grace', { type: 'string', default: '30s', describe: 'on Ctrl-C/SIGTERM, let running programs finish this long, then stop them and release their tickets' })
      .option('until-empty', { type: 'boolean', default: false, describe: 'stop once nothing is claimable, nothing runs and no retry of the stage is still to come' })
      .option('review-exit', { type: 'number', describe: 'this exit code submits the output to needs_review' })
      .option('output-file', { type: 'string', describe: 'read the output from this file (relative: inside $TQ_WORKDIR) instead of stdout' })
      .option('poll', { type: 'string', default: '1s', describe: 'longest wait between claims while nothing is claimable' })
      .option('heartbeat', { type: 'string', describe: 'time between heartbeats (default: a third of the lease); off: none, so the lease runs out (for tests)' })
      .option('log-cap', { type: 'number', default: DEFAULT_LOG_CAP, describe: "bytes of each attempt's stderr kept in logs/<ticket>.<attempt>.log" }),
  run: runWork,
};
