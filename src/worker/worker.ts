import { EventEmitter } from 'node:events';
import { basename, dirname, resolve } from 'node:path';
import { TqError, isTqError } from '../core/model/errors.js';
import { cleanId } from '../core/model/ids.js';
import { leaseMsOf, requestedLeaseMs, stageConfig } from '../core/model/pipeline.js';
import type { ClaimResult } from '../core/ops/claim-ticket.js';
import { claimTickets } from '../core/ops/claim-tickets.js';
import { ClaimBatcher } from './claim-batcher.js';
import { reapExpired, UNSTAMPED_GRACE_MS } from '../core/ops/reap-claims.js';
import { releaseTicket } from '../core/ops/worker-moves.js';
import { hasTicketsInLanes } from '../core/store/pending-lanes.js';
import { openRun, type RunCtx } from '../core/store/run-context.js';
import { defaultWorkerId } from './default-worker-id.js';
import { formatElapsed } from './format-elapsed.js';
import { IdleBackoff, Sleepers } from './idle-wait.js';
import { RunningJob, isClaimLost, type JobEnv } from './running-job.js';
import { WorkTally } from './work-tally.js';
import type { Handler, SlotView, StopKind, WorkSummary, WorkerEvents, WorkerOptions } from './worker-types.js';

const DEFAULT_POLL_MS = 1000;
const DEFAULT_ABANDON_MS = 10_000;
const DEFAULT_REAP_MS = 60_000;
export const MAX_CONCURRENCY = 1000;

export interface CloseOptions {
  /** Let running handlers finish this long (ms), then stop them and release their tickets. Default: wait for them. */
  grace?: number;
  /** Stop every handler at once (killSignal too) and release their tickets. */
  force?: boolean;
}

/**
 * Claims tickets of one stage and runs `handler` on each, `concurrency` at a time, until
 * close() (or, with `untilEmpty`, until nothing is left): heartbeats while a handler runs,
 * submits what it returns, records a failed attempt when it throws, gives tickets back at
 * shutdown. Works on the run's files alone: no daemon needed (it even reaps expired claims
 * while idle). Modelled on BullMQ's Worker; `tq work` is a thin layer over it.
 */
export class Worker extends EventEmitter<WorkerEvents> {
  readonly stage: string;
  readonly workerId: string;
  private readonly source: RunCtx | string;
  private readonly handler: Handler;
  private readonly opts: WorkerOptions;
  private readonly concurrency: number;
  private readonly tally = new WorkTally();
  private readonly jobs = new Map<number, RunningJob>();
  private readonly sleepers = new Sleepers();
  /** Why one for all slots: idle slots share one claimTickets call instead of a claim each. */
  private readonly batcher = new ClaimBatcher(
    (max) => this.claimBatch(max),
    () => this.concurrency - this.jobs.size,
  );
  private ctx: RunCtx | undefined;
  private stopping = false;
  private endedJobs = 0;
  private drainedSaid = false;
  /** The current pause was announced ('paused'); reset by the next claim that is answered. */
  private pausedSaid = false;
  private lastReapAt = Number.NEGATIVE_INFINITY;
  private graceTimer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<WorkSummary> | undefined;

  /** `run`: an open run, or a run's directory. */
  constructor(run: RunCtx | string, stage: string, handler: Handler, opts: WorkerOptions = {}) {
    super();
    this.source = run;
    this.stage = cleanId(stage, 'stage');
    this.workerId = cleanId(opts.workerId ?? defaultWorkerId(), 'worker id');
    this.handler = handler;
    this.opts = opts;
    this.concurrency = opts.concurrency ?? 1;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1 || this.concurrency > MAX_CONCURRENCY) {
      throw new TqError('USAGE', `concurrency ${String(opts.concurrency)} is not a whole number from 1 to ${MAX_CONCURRENCY}`, { field: 'concurrency' });
    }
  }

  /** Work until close() (or until drained, with untilEmpty); resolves with what was done. */
  run(): Promise<WorkSummary> {
    this.running ??= this.work();
    return this.running;
  }

  /**
   * Stop claiming; let running handlers finish (within `grace`), then stop them and release
   * their tickets (the attempt does not count). Resolves when run() does. Call again with
   * `force` to stop the handlers at once.
   */
  async close(opts: CloseOptions = {}): Promise<WorkSummary> {
    this.stopping = true;
    this.sleepers.wakeAll();
    if (opts.force) this.stopJobs('kill', 'the worker was told to stop at once');
    else if (opts.grace !== undefined && Number.isFinite(opts.grace)) {
      const grace = Math.max(0, opts.grace);
      clearTimeout(this.graceTimer);
      this.graceTimer = setTimeout(() => this.stopJobs('shutdown', `still running after the ${formatElapsed(grace)} grace period`), grace);
    }
    return this.running ?? this.summary;
  }

  get summary(): WorkSummary {
    return this.tally.summary(this.workerId, this.stage);
  }

  /** What each slot is doing now (for a live display). */
  slots(): SlotView[] {
    return Array.from({ length: this.concurrency }, (_, i) => this.jobs.get(i + 1)?.view() ?? { slot: i + 1 });
  }

  get runningCount(): number {
    return this.jobs.size;
  }

  private async work(): Promise<WorkSummary> {
    try {
      const ctx = await this.openRunCtx();
      this.ctx = ctx;
      const env = this.jobEnv(ctx);
      await Promise.all(Array.from({ length: this.concurrency }, (_, i) => this.slotLoop(ctx, env, i + 1)));
      // Why: a batch can bring more tickets than the slots that were left to take them.
      for (const left of this.batcher.takeLeftovers()) await this.giveBack(ctx, left);
    } finally {
      clearTimeout(this.graceTimer);
      this.stopping = true;
    }
    return this.summary;
  }

  private async openRunCtx(): Promise<RunCtx> {
    if (typeof this.source !== 'string') return this.source;
    const dir = resolve(this.source);
    return openRun(dirname(dir), basename(dir));
  }

  /** What every job of this worker shares; the stage and lease are checked here, before any claim. */
  private jobEnv(ctx: RunCtx): JobEnv {
    stageConfig(ctx.config.pipeline, this.stage);
    const { lease } = this.opts;
    const leaseMs = lease !== undefined ? requestedLeaseMs(ctx.config.pipeline, this.stage, lease) : leaseMsOf(ctx.config.pipeline, this.stage);
    return {
      ctx,
      workerId: this.workerId,
      handler: this.handler,
      lease,
      // Why a third: two heartbeats can fail (a busy disk, a slow NFS) before the lease runs out.
      heartbeatEvery: this.opts.heartbeatEvery ?? Math.max(1, Math.floor(leaseMs / 3)),
      leaseCheckEvery: Math.max(1, Math.min(1000, Math.floor(leaseMs / 3))),
      timeout: this.opts.timeout,
      abandonAfter: this.opts.abandonAfter ?? DEFAULT_ABANDON_MS,
      tally: this.tally,
      emit: this.emit.bind(this),
      report: (err) => this.report(err),
    };
  }

  /** One slot: claim, run, repeat; wait with backoff while nothing is claimable. */
  private async slotLoop(ctx: RunCtx, env: JobEnv, slot: number): Promise<void> {
    const backoff = new IdleBackoff(this.opts.pollInterval ?? DEFAULT_POLL_MS);
    while (!this.stopping) {
      const ended = this.endedJobs;
      const claim = await this.batcher.next();
      if (claim && this.stopping) {
        this.batcher.started();
        await this.giveBack(ctx, claim);
        break;
      }
      if (claim) {
        backoff.reset();
        await this.runJob(env, claim, slot);
        continue;
      }
      if (claim === null && (await this.reapIfDue(ctx))) continue;
      // RACE: drained only if no job ended since this claim began: a job that failed its attempt
      // meanwhile may have put its ticket back into pending/ behind the claim's back.
      if (claim === null && this.jobs.size === 0 && this.batcher.idle && this.endedJobs === ended && !(await this.retriesAhead(ctx)) && this.ranDry()) break;
      await this.sleepers.sleep(backoff.next());
    }
  }

  /**
   * Tickets of the stage in its lanes (waiting for a retry's backoff or a delayed add, or due
   * since the claim looked). Why: with untilEmpty, the stage is not drained while a retry is
   * still to come; the slot polls on, and its next claim takes a lane that fell due.
   */
  private async retriesAhead(ctx: RunCtx): Promise<boolean> {
    if (!this.opts.untilEmpty) return false;
    try {
      return await hasTicketsInLanes(ctx, this.stage);
    } catch (err) {
      this.report(err);
      return false;
    }
  }

  /** Nothing claimable, nothing running: say so once; true when the worker should stop (untilEmpty). */
  private ranDry(): boolean {
    if (!this.drainedSaid) {
      this.drainedSaid = true;
      this.emit('drained');
    }
    if (!this.opts.untilEmpty) return false;
    this.stopping = true;
    this.sleepers.wakeAll();
    return true;
  }

  /**
   * Claim up to `max` tickets for the free slots; undefined when the claim failed (reported).
   * Wakes the sleeping slots when it brought more than the one slot that asked can take.
   */
  private async claimBatch(max: number): Promise<ClaimResult[] | undefined> {
    const ctx = this.ctx;
    if (!ctx) return undefined;
    try {
      const claims = await claimTickets(ctx, { stage: this.stage, workerId: this.workerId, max, ...(this.opts.lease !== undefined ? { lease: this.opts.lease } : {}) });
      this.pausedSaid = false;
      if (claims.length > 1) this.sleepers.wakeAll();
      return claims;
    } catch (err) {
      // Why not an error: a paused stage (`tq pause`) is waited out, polled like an empty one.
      if (isTqError(err, 'PAUSED')) {
        if (!this.pausedSaid) this.emit('paused', err);
        this.pausedSaid = true;
      } else this.report(err);
      return undefined;
    }
  }

  private async runJob(env: JobEnv, claim: ClaimResult, slot: number): Promise<void> {
    this.drainedSaid = false;
    this.batcher.started();
    const job = new RunningJob(env, claim, slot);
    this.jobs.set(slot, job);
    try {
      await job.execute();
    } catch (err) {
      // An I/O failure while ending the job: the ticket stays claimed; its lease runs out and a reaper returns it.
      this.report(err);
    } finally {
      this.jobs.delete(slot);
      this.endedJobs += 1;
    }
  }

  /** A claim that landed after close(): straight back to pending/, untouched. */
  private async giveBack(ctx: RunCtx, claim: ClaimResult): Promise<void> {
    try {
      await releaseTicket(ctx, { ticketId: claim.ticket.ticket_id, workerId: this.workerId, ...(claim.ticket.claim ? { token: claim.ticket.claim.token } : {}), reason: 'claimed while the worker was shutting down' });
    } catch (err) {
      if (!isClaimLost(err)) this.report(err);
    }
  }

  /** While idle, return expired claims to pending/ (at most every reapEvery); true when some came back. */
  private async reapIfDue(ctx: RunCtx): Promise<boolean> {
    const every = this.opts.reapEvery ?? DEFAULT_REAP_MS;
    if (every === false || Date.now() - this.lastReapAt < every) return false;
    this.lastReapAt = Date.now();
    try {
      const actions = await reapExpired(ctx, { unstampedGraceMs: UNSTAMPED_GRACE_MS });
      if (actions.length > 0) this.emit('reaped', actions);
      return actions.some((a) => a.action === 'requeued');
    } catch (err) {
      this.report(err);
      return false;
    }
  }

  private stopJobs(kind: StopKind, message: string): void {
    for (const job of this.jobs.values()) job.stop(kind, message);
  }

  private report(err: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }
}
