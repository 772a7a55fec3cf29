import type { EventEmitter } from 'node:events';
import { isTqError, type TqError } from '../core/model/errors.js';
import type { Concern, Usage } from '../core/model/ticket-schema.js';
import type { ClaimResult } from '../core/ops/claim-ticket.js';
import { failAttempt } from '../core/ops/fail-attempt.js';
import { submitTicket } from '../core/ops/submit-ticket.js';
import { heartbeatTicket, releaseTicket } from '../core/ops/worker-moves.js';
import type { RunCtx } from '../core/store/run-context.js';
import { formatElapsed } from './format-elapsed.js';
import { startHeartbeats } from './heartbeat-loop.js';
import type { WorkTally } from './work-tally.js';
import { WorkStopped, type Handler, type JobContext, type JobInfo, type SlotView, type StopKind, type WorkerEvents } from './worker-types.js';

/** What a job needs from its worker. */
export interface JobEnv {
  ctx: RunCtx;
  workerId: string;
  handler: Handler;
  lease: string | number | undefined;
  heartbeatEvery: number | false;
  /** Without heartbeats, how often to look whether the lease ran out (by the run's clock). */
  leaseCheckEvery: number;
  timeout: number | undefined;
  abandonAfter: number;
  tally: WorkTally;
  emit: EventEmitter<WorkerEvents>['emit'];
  /** An error that is no ticket's fault (I/O): reported, the worker goes on. */
  report: (err: unknown) => void;
}

/** Refusals that mean this worker no longer holds the ticket: nothing more to do with it. */
const CLAIM_LOST = new Set(['LEASE_LOST', 'NOT_HOLDER', 'ALREADY_DONE', 'CORRUPT_TICKET']);

export function isClaimLost(err: unknown): err is TqError {
  return isTqError(err) && CLAIM_LOST.has(err.code);
}

/** How a handler ended: its output, its error, or given up on (it ignored its stop signal). */
type Settled = { ok: true; output: unknown; ms: number } | { ok: false; error: unknown; ms: number } | { ok: false; abandoned: true; ms?: undefined };

/** The text of what a handler threw, and a program's stderr tail when it carries one. */
function describeError(err: unknown): { error: string; stderrTail?: string } {
  const error = err instanceof Error ? err.message : String(err);
  const tail = typeof err === 'object' && err !== null && 'stderrTail' in err ? (err as { stderrTail: unknown }).stderrTail : undefined;
  return { error, ...(typeof tail === 'string' && tail !== '' ? { stderrTail: tail } : {}) };
}

/**
 * One claimed ticket from the handler's start to its end: heartbeats while the handler runs,
 * the timeout, and then exactly one of submit (completed or needs_review), a failed attempt,
 * a release (shutdown), or nothing (the claim was lost; a late output goes to rejected/).
 */
export class RunningJob {
  readonly info: JobInfo;
  private readonly stopper = new AbortController();
  private readonly killer = new AbortController();
  private readonly concerns: Concern[] = [];
  private usage: Usage | undefined;
  private review = false;
  private leaseEnds: number;
  private lostBy: TqError | undefined;
  private readonly token: string | undefined;
  private readonly path: string;
  /** The handler has returned, thrown, or been given up on. */
  private settled = false;

  constructor(
    private readonly env: JobEnv,
    claim: ClaimResult,
    slot: number,
  ) {
    const t = claim.ticket;
    this.info = { ticket: t, attempt: t.attempts + 1, slot, startedAt: Date.now() };
    this.token = t.claim?.token;
    this.leaseEnds = t.claim ? Date.parse(t.claim.lease_expires_at) : Number.NaN;
    this.path = claim.path;
  }

  get stopKind(): StopKind | undefined {
    const r: unknown = this.stopper.signal.reason;
    return r instanceof WorkStopped ? r.kind : undefined;
  }

  /**
   * Tell the handler to stop. The first reason decides the outcome; `kill` also aborts
   * killSignal. Once the handler has settled it is too late: its result stands.
   */
  stop(kind: StopKind, message: string): void {
    if (this.settled) return;
    if (!this.stopper.signal.aborted) this.stopper.abort(new WorkStopped(kind, message));
    if (kind === 'kill' && !this.killer.signal.aborted) this.killer.abort(new WorkStopped(kind, message));
  }

  view(): SlotView {
    const kind = this.stopKind;
    return {
      slot: this.info.slot,
      ticketId: this.info.ticket.ticket_id,
      attempt: this.info.attempt,
      elapsedMs: Date.now() - this.info.startedAt,
      ...(Number.isNaN(this.leaseEnds) ? {} : { leaseLeftMs: this.leaseEnds - this.env.ctx.clock.now().getTime() }),
      ...(kind ? { stopping: kind } : {}),
    };
  }

  async execute(): Promise<void> {
    this.env.emit('claimed', this.info);
    const { heartbeatEvery } = this.env;
    const heartbeats = heartbeatEvery === false ? startHeartbeats(this.env.leaseCheckEvery, async () => this.checkLease()) : startHeartbeats(heartbeatEvery, () => this.beat());
    const { timeout } = this.env;
    const timer = timeout === undefined ? undefined : setTimeout(() => this.stop('timeout', `timed out after ${formatElapsed(timeout)}`), timeout);
    let settled: Settled;
    try {
      settled = await this.settle();
    } finally {
      // RACE: from here a grace period or a timeout running out must not turn a handler that
      // has already returned its output into a release or a failed attempt.
      this.settled = true;
      clearTimeout(timer);
      await heartbeats.stop();
    }
    await this.conclude(settled);
  }

  private context(): JobContext {
    return {
      run: this.env.ctx,
      workerId: this.env.workerId,
      attempt: this.info.attempt,
      ticketPath: this.path,
      signal: this.stopper.signal,
      killSignal: this.killer.signal,
      concern: (level, message, suggestion) => {
        this.concerns.push({ level, message, ...(suggestion !== undefined && suggestion !== '' ? { suggestion } : {}) });
      },
      usage: (u) => {
        this.usage = { ...this.usage, ...u };
      },
      needsReview: () => {
        this.review = true;
      },
    };
  }

  /** Run the handler; once it was told to stop, wait for it at most abandonAfter. */
  private async settle(): Promise<Settled> {
    const started = performance.now();
    const run = Promise.resolve()
      .then(() => this.env.handler(this.info.ticket, this.context()))
      .then(
        (output): Settled => ({ ok: true, output, ms: performance.now() - started }),
        (error: unknown): Settled => ({ ok: false, error, ms: performance.now() - started }),
      );
    let timer: ReturnType<typeof setTimeout> | undefined;
    const abandoned = new Promise<Settled>((resolve) => {
      const onStop = (): void => {
        timer = setTimeout(() => resolve({ ok: false, abandoned: true }), this.env.abandonAfter);
      };
      if (this.stopper.signal.aborted) onStop();
      else this.stopper.signal.addEventListener('abort', onStop, { once: true });
    });
    try {
      return await Promise.race([run, abandoned]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async beat(): Promise<void> {
    try {
      const r = await heartbeatTicket(this.env.ctx, { ticketId: this.info.ticket.ticket_id, workerId: this.env.workerId, ...(this.token ? { token: this.token } : {}), ...(this.env.lease !== undefined ? { lease: this.env.lease } : {}) });
      if (r.ticket.claim) this.leaseEnds = Date.parse(r.ticket.claim.lease_expires_at);
    } catch (err) {
      if (!isClaimLost(err)) return this.env.report(err);
      this.lostBy = err;
      this.stop('lease-lost', err.message);
    }
  }

  /**
   * Without heartbeats the lease is a deadline: once the run's clock passes it, the handler is
   * told to stop (anyone may reap and re-claim the ticket now). Whatever it still returns is
   * submitted: accepted if nobody took the ticket meanwhile, else kept in rejected/.
   */
  private checkLease(): void {
    const now = this.env.ctx.clock.now();
    if (Number.isNaN(this.leaseEnds) || now.getTime() < this.leaseEnds) return;
    this.stop('lease-lost', `its lease ran out at ${new Date(this.leaseEnds).toISOString()} (no heartbeats)`);
  }

  /** Exactly one ending, by why the handler stopped (if it was told to) and how it settled. */
  private async conclude(s: Settled): Promise<void> {
    const kind = this.stopKind;
    if (kind === 'shutdown' || kind === 'kill') return this.release(s.ms);
    if (kind === 'lease-lost') {
      // Why submit anyway: the fence refuses it and keeps the output in rejected/, never lost.
      if (s.ok) return this.submit(s.output, s.ms);
      // With no heartbeat refused, the lease only ran out: give the ticket back as a reap would.
      if (this.lostBy === undefined) return this.fail({ error: (this.stopper.signal.reason as WorkStopped).message }, s.ms);
      return this.lost(this.lostBy, s.ms);
    }
    if (kind === 'timeout') {
      const reason = (this.stopper.signal.reason as WorkStopped).message;
      return this.fail({ error: reason, ...(!s.ok && 'error' in s ? { stderrTail: describeError(s.error).stderrTail } : {}) }, s.ms);
    }
    if (s.ok) return this.submit(s.output, s.ms);
    return this.fail(describeError('error' in s ? s.error : 'abandoned'), s.ms);
  }

  private async submit(output: unknown, ms: number): Promise<void> {
    const status = this.review ? 'needs_review' : 'completed';
    // Why duration_ms by default: `tq stats` reports work time from it.
    const usage: Usage = { duration_ms: Math.round(ms), ...this.usage };
    try {
      const r = await submitTicket(this.env.ctx, { ticketId: this.info.ticket.ticket_id, workerId: this.env.workerId, output, concerns: this.concerns, usage, status, ...(this.token ? { token: this.token } : {}) });
      this.env.tally.done += 1;
      if (status === 'needs_review') this.env.tally.needsReview += 1;
      this.env.tally.timed(ms);
      this.env.emit('completed', this.info, { status, ticket: r.ticket, durationMs: ms });
    } catch (err) {
      if (isClaimLost(err)) return this.lost(err, ms);
      // An output the run refuses (not an object, against the stage's output_schema, bad usage): the attempt failed.
      if (isTqError(err, 'INVALID_INPUT') || isTqError(err, 'USAGE')) return this.fail({ error: `output refused: ${err.message}` }, ms);
      throw err;
    }
  }

  private async fail(what: { error: string; stderrTail?: string }, ms: number | undefined): Promise<void> {
    try {
      const r = await failAttempt(this.env.ctx, this.info.ticket.ticket_id, { workerId: this.env.workerId, ...(this.token ? { token: this.token } : {}), error: what.error, ...(what.stderrTail ? { stderrTail: what.stderrTail } : {}) });
      this.env.tally.timed(ms);
      const failure = { ...what, attempts: r.attempts, maxAttempts: r.maxAttempts, ...(r.outcome === 'retrying' ? { notBefore: r.not_before } : {}), ...(ms !== undefined ? { durationMs: ms } : {}) };
      if (r.outcome === 'failed') {
        this.env.tally.failed += 1;
        this.env.emit('failed', this.info, failure);
      } else {
        this.env.tally.retried += 1;
        this.env.emit('retrying', this.info, failure);
      }
    } catch (err) {
      if (isClaimLost(err)) return this.lost(err, ms);
      throw err;
    }
  }

  private async release(ms: number | undefined): Promise<void> {
    try {
      await releaseTicket(this.env.ctx, { ticketId: this.info.ticket.ticket_id, workerId: this.env.workerId, ...(this.token ? { token: this.token } : {}), reason: 'the worker shut down before it finished' });
      this.env.tally.released += 1;
      this.env.emit('released', this.info);
    } catch (err) {
      if (isClaimLost(err)) return this.lost(err, ms);
      throw err;
    }
  }

  private lost(err: TqError, ms: number | undefined): void {
    this.env.tally.leaseLost += 1;
    this.env.tally.timed(ms);
    this.env.emit('lease-lost', this.info, err);
  }
}
