import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Ticket } from '../core/model/ticket-schema.js';
import { AttemptLog } from './attempt-log.js';
import { parseConcernLines, parseOutput, parseUsageFile, readOptionalFile } from './command-files.js';
import { formatElapsed } from './format-elapsed.js';
import { shellWords } from './shell-words.js';
import { spawnCommand, type SpawnResult } from './spawn-command.js';
import { AttemptError, WorkStopped, type Handler, type JobContext } from './worker-types.js';

export interface CommandOptions {
  command: string;
  args: string[];
  /** The environment the program starts from (default process.env); the TQ_* variables are added. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** This exit code submits the output to needs_review. */
  reviewExit?: number;
  /** The output is this file (inside $TQ_WORKDIR when relative) instead of stdout. */
  outputFile?: string;
  /** SIGKILL this long after SIGTERM (ms, default 5000). */
  killAfter?: number;
  /** Bytes of stderr kept in each attempt's log (default 1 MB). */
  logCap?: number;
}

/** The files of one attempt's scratch directory ($TQ_WORKDIR), removed afterwards. */
interface Scratch {
  dir: string;
  input: string;
  /**
   * The ticket as claimed, copied. Why a copy, not the run's claimed/<worker>/<id>.json: each
   * heartbeat is a fenced move, and while it runs the ticket is in moving/, so a program reading
   * the run's file could find nothing there for a moment.
   */
  ticket: string;
  concerns: string;
  usage: string;
  output?: string;
}

/**
 * A Worker handler that runs a program per ticket: the ticket's input_data as JSON on stdin,
 * TQ_* variables in its environment, `{id}` `{stage}` `{input}` `{attempt}` `{workdir}` in its
 * arguments; its stdout (or --output-file) is the output, exit 0 completes, `reviewExit` sends
 * it to needs_review, anything else fails the attempt with its stderr tail. Concerns and usage
 * come from $TQ_CONCERNS and $TQ_USAGE; stderr goes to logs/<id>.<attempt>.log.
 */
export function commandHandler(opts: CommandOptions): Handler {
  return async (ticket, job) => {
    const dir = await mkdtemp(join(tmpdir(), 'tq-work-'));
    const scratch: Scratch = { dir, input: join(dir, 'input.json'), ticket: join(dir, 'ticket.json'), concerns: join(dir, 'concerns.jsonl'), usage: join(dir, 'usage.json'), ...(opts.outputFile ? { output: resolve(dir, opts.outputFile) } : {}) };
    try {
      await writeFile(scratch.input, JSON.stringify(ticket.input_data));
      await writeFile(scratch.ticket, `${JSON.stringify(ticket, null, 2)}\n`);
      const args = opts.args.map((a) => fillPlaceholders(a, { id: ticket.ticket_id, stage: ticket.worker_type, input: scratch.input, attempt: String(job.attempt), workdir: dir }));
      const result = await runLogged(opts, args, ticket, job, scratch);
      return await outcomeOf(opts, result, job, scratch);
    } finally {
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    }
  };
}

/** Replace `{name}` in an argument; unknown names are left as they are. */
export function fillPlaceholders(arg: string, values: Record<string, string>): string {
  return arg.replace(/\{([a-z]+)\}/g, (whole, name: string) => values[name] ?? whole);
}

/** What the program finds in its environment. */
export function commandEnv(base: NodeJS.ProcessEnv, ticket: Ticket, job: JobContext, scratch: Scratch): NodeJS.ProcessEnv {
  return {
    ...base,
    TQ_ROOT: resolve(job.run.root),
    TQ_RUN: job.run.runId,
    TQ_TICKET_ID: ticket.ticket_id,
    TQ_STAGE: ticket.worker_type,
    TQ_WORKER: job.workerId,
    TQ_TICKET_FILE: scratch.ticket,
    TQ_ATTEMPT: String(job.attempt),
    TQ_WORKDIR: scratch.dir,
    TQ_INPUT: scratch.input,
    TQ_CONCERNS: scratch.concerns,
    TQ_USAGE: scratch.usage,
    ...(scratch.output ? { TQ_OUTPUT_FILE: scratch.output } : {}),
  };
}

/** Run the program with its stderr going to the attempt's log. */
async function runLogged(opts: CommandOptions, args: string[], ticket: Ticket, job: JobContext, scratch: Scratch): Promise<SpawnResult & { ms: number }> {
  const log = await AttemptLog.open(job.run, ticket.ticket_id, job.attempt, ticket.claim_count, opts.logCap).catch(() => undefined);
  log?.note(`tq work: ${shellWords([opts.command, ...args])}`);
  log?.note(`ticket ${ticket.ticket_id}, attempt ${job.attempt}, worker ${job.workerId}, started ${new Date().toISOString()}`);
  const started = performance.now();
  const result = await spawnCommand(opts.command, args, {
    env: commandEnv(opts.env ?? process.env, ticket, job, scratch),
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    stdin: JSON.stringify(ticket.input_data),
    signal: job.signal,
    killSignal: job.killSignal,
    killAfter: opts.killAfter ?? 5000,
    onStderr: (chunk) => log?.write(chunk),
  });
  const ms = performance.now() - started;
  await log?.close(`${endingOf(result, job)} after ${formatElapsed(ms)}`);
  return { ...result, ms };
}

function endingOf(r: SpawnResult, job: JobContext): string {
  if (r.spawnError) return `could not start: ${r.spawnError}`;
  const why = job.signal.reason instanceof WorkStopped ? ` (${job.signal.reason.message})` : '';
  return r.signal ? `killed by ${r.signal}${why}` : `exit code ${r.code}${why}`;
}

/** The output, or an AttemptError saying what went wrong (with the stderr tail). */
async function outcomeOf(opts: CommandOptions, r: SpawnResult, job: JobContext, scratch: Scratch): Promise<unknown> {
  const fail = (message: string): AttemptError => new AttemptError(message, r.stderrTail);
  if (r.spawnError) throw fail(`cannot run ${opts.command}: ${r.spawnError}`);
  if (r.signal) throw fail(`killed by ${r.signal}`);
  const review = opts.reviewExit !== undefined && r.code === opts.reviewExit;
  if (r.code !== 0 && !review) throw fail(`exit code ${r.code}`);
  if (r.stdoutTooBig && !scratch.output) throw fail('stdout is over the 16 MB output limit');
  try {
    const text = scratch.output ? await readOptionalFile(scratch.output, '--output-file') : r.stdout;
    if (text === undefined) throw new AttemptError(`the program did not write its --output-file ${opts.outputFile ?? ''}`);
    const output = parseOutput(text, scratch.output ? '--output-file' : 'stdout');
    const concerns = await readOptionalFile(scratch.concerns, '$TQ_CONCERNS');
    for (const c of parseConcernLines(concerns ?? '')) job.concern(c.level, c.message, c.suggestion);
    const usage = await readOptionalFile(scratch.usage, '$TQ_USAGE');
    if (usage !== undefined && usage.trim() !== '') job.usage(parseUsageFile(usage));
    if (review) job.needsReview();
    return output;
  } catch (err) {
    throw err instanceof AttemptError ? fail(err.message) : err;
  }
}
