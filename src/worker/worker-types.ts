import type { TqError } from '../core/model/errors.js';
import type { ConcernLevel } from '../core/model/states.js';
import type { Ticket, Usage } from '../core/model/ticket-schema.js';
import type { ReapAction } from '../core/ops/reap-claims.js';
import type { RunCtx } from '../core/store/run-context.js';

/**
 * Why a job was told to stop: its lease was lost (a heartbeat was refused), it ran past the
 * worker's timeout, the worker is shutting down past its grace (the ticket will be released),
 * or it must stop at once (a second Ctrl-C).
 */
export type StopKind = 'lease-lost' | 'timeout' | 'shutdown' | 'kill';

/** The reason of an aborted `ctx.signal` / `ctx.killSignal`. */
export class WorkStopped extends Error {
  readonly kind: StopKind;

  constructor(kind: StopKind, message: string) {
    super(message);
    this.name = 'WorkStopped';
    this.kind = kind;
  }
}

/**
 * An error a handler throws to fail its attempt with the end of a program's stderr, which the
 * ticket keeps with the error (ops/fail-attempt.ts).
 */
export class AttemptError extends Error {
  readonly stderrTail: string | undefined;

  constructor(message: string, stderrTail?: string) {
    super(message);
    this.name = 'AttemptError';
    this.stderrTail = stderrTail;
  }
}

/** What a handler gets besides the ticket. */
export interface JobContext {
  readonly run: RunCtx;
  readonly workerId: string;
  /** This attempt's number: attempts before it + 1 (max_attempts counts these). */
  readonly attempt: number;
  /** The claimed ticket's file, claimed/<worker>/<id>.json (read it, never write it). */
  readonly ticketPath: string;
  /** Stop soon: the lease was lost, the job timed out, or the worker shuts down. `reason` is a WorkStopped. */
  readonly signal: AbortSignal;
  /** Stop now (a forced shutdown): kill whatever the handler started. Aborted after `signal`. */
  readonly killSignal: AbortSignal;
  /** A concern submitted with the output (`tq concerns` lists it). */
  concern(level: ConcernLevel, message: string, suggestion?: string): void;
  /** Token usage submitted with the output; fields given later replace earlier ones. */
  usage(usage: Usage): void;
  /** Submit the output to needs_review instead of completed. */
  needsReview(): void;
}

/** A worker's function: the output_data of the ticket; throwing fails the attempt. */
export type Handler = (ticket: Ticket, ctx: JobContext) => Promise<unknown>;

/** One ticket a worker is working on, as its events report it. */
export interface JobInfo {
  ticket: Ticket;
  attempt: number;
  /** Which of the worker's `concurrency` slots runs it (1-based). */
  slot: number;
  /** Wall-clock start of the handler (ms since the epoch). */
  startedAt: number;
}

export interface JobDone {
  status: 'completed' | 'needs_review';
  ticket: Ticket;
  durationMs: number;
}

export interface JobFailure {
  error: string;
  stderrTail?: string;
  /** Attempts used, this one included, and the stage's max_attempts. */
  attempts: number;
  maxAttempts: number;
  /** For a retry: when it may be claimed again (the stage's retry backoff; now without one). */
  notBefore?: string;
  /** How long the handler ran; undefined when it never settled (abandoned after a stop). */
  durationMs?: number;
}

export interface WorkerEvents {
  claimed: [job: JobInfo];
  completed: [job: JobInfo, done: JobDone];
  /** A failed attempt; the ticket went back to pending/ and will be claimed again. */
  retrying: [job: JobInfo, failure: JobFailure];
  /** A failed attempt that was the last one: the ticket is in failed/. */
  failed: [job: JobInfo, failure: JobFailure];
  /** The claim was lost (a heartbeat or the submit was refused); any output is kept in rejected/. */
  'lease-lost': [job: JobInfo, error: TqError];
  /** Given back to pending/ at shutdown (the attempt does not count). */
  released: [job: JobInfo];
  /** Nothing claimable and nothing running (emitted once each time the worker runs dry). */
  drained: [];
  /** Claims answer PAUSED (`tq pause`): the worker waits and asks again (emitted once per pause). */
  paused: [error: TqError];
  /** Expired claims this worker returned to pending/ while idle (it needs no daemon for that). */
  reaped: [actions: ReapAction[]];
  /** Something failed that is not a ticket's fault (I/O); the worker goes on. Only emitted when listened to. */
  error: [err: unknown];
}

export interface WorkerOptions {
  /** Tickets worked on at once (default 1). */
  concurrency?: number;
  /** Default `<hostname>-<pid>`. */
  workerId?: string;
  /** Lease of each claim and heartbeat ("10m"); default the stage's lease. */
  lease?: string | number;
  /**
   * Milliseconds between heartbeats; default a third of the lease. false: none; the lease is
   * then a deadline: past it (by the run's clock) the handler is told to stop (`lease-lost`).
   */
  heartbeatEvery?: number | false;
  /** The longest wait between two claims when nothing is claimable (ms, default 1000). */
  pollInterval?: number;
  /** Stop a handler that runs longer (ms): its attempt fails. */
  timeout?: number;
  /** How long a stopped handler may take to settle before the worker gives up on it (ms, default 10000). */
  abandonAfter?: number;
  /** run() resolves once nothing is claimable and nothing runs. */
  untilEmpty?: boolean;
  /** While idle, reap expired claims at most this often (ms, default 60000); false: never. */
  reapEvery?: number | false;
}

/** What a worker did; `tq work` prints it at the end. */
export interface WorkSummary {
  worker_id: string;
  stage: string;
  /** Submitted: completed, and the part of them that went to needs_review. */
  done: number;
  needs_review: number;
  /** Attempts that failed and were the ticket's last (now in failed/). */
  failed: number;
  /** Attempts that failed and sent the ticket back to pending/. */
  retried: number;
  lease_lost: number;
  released: number;
  /** Handler (command) time over every attempt that settled: median and 95th percentile, ms. */
  attempts_timed: number;
  median_ms: number | null;
  p95_ms: number | null;
}

/** A slot's state for a live display. */
export interface SlotView {
  slot: number;
  ticketId?: string;
  attempt?: number;
  elapsedMs?: number;
  /** Until the lease ends, by the run's clock; negative once past. */
  leaseLeftMs?: number;
  stopping?: StopKind;
}
