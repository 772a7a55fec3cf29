import { terminalStream } from './terminal-stream.js';
import { formatDuration } from '../../core/model/duration.js';
import { formatElapsed } from '../../worker/format-elapsed.js';
import type { Worker } from '../../worker/worker.js';
import type { JobFailure, JobInfo, SlotView, WorkSummary } from '../../worker/worker-types.js';
import type { CliIo } from '../io.js';

export interface WorkProgress {
  /** A line of the command's own (shutdown notices), kept on screen. */
  note(text: string): void;
  /** Stop redrawing; leave the last frame on screen. */
  stop(): void;
}

const REDRAW_MS = 250;

function clock(d = new Date()): string {
  return d.toTimeString().slice(0, 8);
}

/** The last non-blank line of a program's stderr, cut for one line of progress. */
function lastLine(tail: string | undefined): string {
  const line = (tail ?? '').trimEnd().split('\n').pop()?.trim() ?? '';
  return line.length > 160 ? `${line.slice(0, 159)}…` : line;
}

function failureText(job: JobInfo, f: JobFailure): string {
  const last = lastLine(f.stderrTail);
  return `${job.ticket.ticket_id}  attempt ${f.attempts} of ${f.maxAttempts}: ${f.error.split('\n')[0] ?? ''}${last ? ` | ${last}` : ''}`;
}

function slotLine(s: SlotView): string {
  if (s.ticketId === undefined) return `  [${s.slot}] waiting for a ticket`;
  const lease = s.leaseLeftMs === undefined ? '' : s.leaseLeftMs >= 0 ? `  lease ${formatDuration(s.leaseLeftMs)} left` : `  lease ran out ${formatDuration(-s.leaseLeftMs)} ago`;
  return `  [${s.slot}] ${s.ticketId}  attempt ${s.attempt ?? 1}  ${formatElapsed(s.elapsedMs ?? 0)}${lease}${s.stopping ? `  stopping (${s.stopping})` : ''}`;
}

/** The two summary lines `tq work` ends with. */
export function summaryText(s: WorkSummary, runId: string): string {
  const review = s.needs_review > 0 ? ` (${s.needs_review} to review)` : '';
  const times = s.attempts_timed > 0 ? `command time: median ${formatElapsed(s.median_ms ?? 0)}, p95 ${formatElapsed(s.p95_ms ?? 0)} over ${s.attempts_timed} attempt(s)` : 'command time: no attempt ran';
  return [`worker ${s.worker_id} on ${runId}/${s.stage}: done ${s.done}${review}, failed ${s.failed}, retried ${s.retried}, lease lost ${s.lease_lost}, released ${s.released}`, times].join('\n');
}

/**
 * What `tq work` shows while it works: on a terminal, a live line per slot (ticket, elapsed,
 * lease left) under the outcomes worth keeping (retries, failures, lost leases); piped, one
 * plain line per event. With --json nothing but errors (on stderr) until the final object.
 */
export async function startWorkProgress(worker: Worker, io: CliIo, opts: { json: boolean; runId: string }): Promise<WorkProgress> {
  worker.on('error', (err) => io.stderr(`tq work: ${err instanceof Error ? err.message : String(err)}\n`));
  if (opts.json) return { note: () => undefined, stop: () => undefined };
  if (!io.isTTY) return plainProgress(worker, io);
  const { createLogUpdate } = await import('log-update');
  const draw = createLogUpdate(terminalStream(io));
  const header = (): string => {
    const s = worker.summary;
    return `tq work ${opts.runId}/${worker.stage} as ${worker.workerId}: done ${s.done}, failed ${s.failed}, retried ${s.retried}, running ${worker.runningCount}`;
  };
  const frame = (): void => draw([header(), ...worker.slots().map(slotLine)].join('\n'));
  const keep = (line: string): void => {
    draw.persist(`${clock()} ${line}\n`);
    frame();
  };
  worker.on('retrying', (job, f) => keep(`retry   ${failureText(job, f)}`));
  worker.on('failed', (job, f) => keep(`FAILED  ${failureText(job, f)} (now in failed/)`));
  worker.on('lease-lost', (job, err) => keep(`LOST    ${job.ticket.ticket_id}: ${err.message}`));
  worker.on('released', (job) => keep(`release ${job.ticket.ticket_id}: given back to pending/ (shutdown)`));
  worker.on('paused', (err) => keep(`paused  ${err.message}; waiting`));
  const timer = setInterval(frame, REDRAW_MS);
  frame();
  return {
    note: keep,
    stop: () => {
      clearInterval(timer);
      frame();
      draw.done();
    },
  };
}

function plainProgress(worker: Worker, io: CliIo): WorkProgress {
  const say = (line: string): void => io.stdout(`${clock()} ${line}\n`);
  worker.on('claimed', (job) => say(`start   ${job.ticket.ticket_id}  attempt ${job.attempt}  [${job.slot}]`));
  worker.on('completed', (job, d) => say(`${d.status === 'needs_review' ? 'review ' : 'done   '} ${job.ticket.ticket_id}  ${formatElapsed(d.durationMs)}`));
  worker.on('retrying', (job, f) => say(`retry   ${failureText(job, f)}`));
  worker.on('failed', (job, f) => say(`FAILED  ${failureText(job, f)} (now in failed/)`));
  worker.on('lease-lost', (job, err) => say(`LOST    ${job.ticket.ticket_id}: ${err.message}`));
  worker.on('released', (job) => say(`release ${job.ticket.ticket_id}: given back to pending/ (shutdown)`));
  worker.on('reaped', (actions) => say(`reaped  ${actions.length} expired claim(s): ${actions.map((a) => `${a.ticket_id} ${a.action}`).join(', ')}`));
  worker.on('drained', () => say('idle    nothing to claim'));
  worker.on('paused', (err) => say(`paused  ${err.message}; waiting`));
  return { note: say, stop: () => undefined };
}
