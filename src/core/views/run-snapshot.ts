import { join } from 'node:path';
import { listDirForView } from './list-dir-for-view.js';
import { readTicketAt } from '../store/read-ticket.js';
import { mapLimit } from '../store/run-pool.js';
import { isInFlightName, isJsonFileName, isWhyFileName, ticketIdOfFileName } from '../store/run-names.js';
import { claimedDir, stateDir, type RunCtx } from '../store/run-context.js';
import { pendingDirsOf } from '../store/pending-lanes.js';
import type { ConcernLevel } from '../model/states.js';
import type { Concern } from '../model/ticket-schema.js';

export interface StageProgress {
  stage: string;
  /** Tickets ever born in this stage (registry/<stage>/), so a ticket caught mid-move is not counted twice. */
  total: number;
  completed: number;
  needs_review: number;
  failed: number;
  pending: number;
  claimed: number;
  /** Completions inside the rate window. */
  recent_completed: number;
  /** Completions per hour over the rate window (null until something completed in it). */
  per_hour: number | null;
  /** (total - finished) / rate; null when the rate is unknown or zero. Children not born yet are not counted. */
  eta_ms: number | null;
}

export interface ClaimView {
  worker_id: string;
  ticket_id: string;
  stage: string;
  claimed_at: string | null;
  lease_expires_at: string | null;
  /** Negative once the lease has expired. */
  lease_left_ms: number | null;
  /** The lease expired and no reaper has taken the ticket back yet. */
  stalled: boolean;
}

export interface RecentConcern extends Concern {
  ticket_id: string;
  stage: string;
  state: string;
}

export interface RunSnapshot {
  run_id: string;
  at: string;
  window_ms: number;
  stages: StageProgress[];
  claims: ClaimView[];
  stalled: number;
  concern_counts: Record<ConcernLevel, number>;
  recent_concerns: RecentConcern[];
  in_flight: number;
  rejected_outputs: number;
  quarantined: number;
}

export interface WatchOptions {
  /** Completions in this window (ending now) give the rate; default 10 minutes. */
  windowMs?: number;
  /** How many recent concerns a snapshot carries; default 5. */
  recentConcerns?: number;
}

/** What the watcher remembers of a finished ticket file (finished tickets rarely change). */
interface FinishedInfo {
  stage: string;
  state: string;
  ticket_id: string;
  claimed_at: number | null;
  completed_at: number | null;
  concerns: Concern[];
}

const FINISHED_STATES = ['completed', 'needs_review', 'failed'] as const;

export interface RunWatcher {
  snapshot(): Promise<RunSnapshot>;
}

type FinishedState = (typeof FINISHED_STATES)[number];
type FinishedCounts = Record<FinishedState, number>;

/**
 * A live view of a run for `tq top`. Each snapshot lists directories (cheap) and reads only
 * finished ticket files it has not seen before, so refreshing every second stays cheap on a
 * run of thousands of tickets. Claimed tickets are read every time (their leases change).
 */
export function createRunWatcher(ctx: RunCtx, opts: WatchOptions = {}): RunWatcher {
  const windowMs = opts.windowMs ?? 600_000;
  const recentMax = opts.recentConcerns ?? 5;
  const finished = new Map<string, FinishedInfo>();
  return {
    async snapshot(): Promise<RunSnapshot> {
      const now = ctx.clock.now().getTime();
      // Why: listing directories one after another is not atomic; a ticket that moves between two
      // listings can be seen twice or not at all. Totals come from the registry (every ticket ever
      // born, never moved), and "left" is total minus finished, so the bars never exceed 100%.
      const finishedCounts = await refreshFinished(ctx, finished);
      const claims = await readClaims(ctx, now);
      const stages: StageProgress[] = [];
      for (const stage of Object.keys(ctx.config.pipeline.stages)) {
        stages.push(await stageProgress(ctx, stage, { finished, finishedCounts, claims, now, windowMs }));
      }
      const { counts, recent } = recentConcerns(finished, recentMax);
      return {
        run_id: ctx.runId,
        at: new Date(now).toISOString(),
        window_ms: windowMs,
        stages,
        claims,
        stalled: claims.filter((c) => c.stalled).length,
        concern_counts: counts,
        recent_concerns: recent,
        in_flight: (await listDirForView(ctx, ctx.paths.moving)).filter(isInFlightName).length,
        rejected_outputs: (await listDirForView(ctx, ctx.paths.rejected)).filter(isJsonFileName).length,
        quarantined: (await listDirForView(ctx, ctx.paths.quarantine)).filter((n) => !isWhyFileName(n)).length,
      };
    },
  };
}

/** Re-list the finished directories, read new files into `finished`, and count tickets per stage and state. */
async function refreshFinished(ctx: RunCtx, finished: Map<string, FinishedInfo>): Promise<Map<string, FinishedCounts>> {
  const counts = new Map<string, FinishedCounts>();
  const seen = new Set<string>();
  const fresh: { path: string; stage: string; state: string; ticketId: string }[] = [];
  for (const state of FINISHED_STATES) {
    for (const stage of Object.keys(ctx.config.pipeline.stages)) {
      const dir = stateDir(ctx, state, stage);
      for (const name of await listDirForView(ctx, dir)) {
        const ticketId = ticketIdOfFileName(name);
        if (ticketId === undefined) continue;
        const path = join(dir, name);
        seen.add(path);
        const c = counts.get(stage) ?? { completed: 0, needs_review: 0, failed: 0 };
        c[state] += 1;
        counts.set(stage, c);
        if (!finished.has(path)) fresh.push({ path, stage, state, ticketId });
      }
    }
  }
  // Why: a requeued or approved ticket leaves its old path; forget it there (it is re-read where it lands).
  for (const path of [...finished.keys()]) if (!seen.has(path)) finished.delete(path);
  await mapLimit(fresh, 16, async (f) => {
    const t = await readTicketAt(ctx, f.path).catch(() => undefined);
    if (!t) return;
    finished.set(f.path, {
      stage: f.stage,
      state: f.state,
      ticket_id: f.ticketId,
      claimed_at: t.claim ? Date.parse(t.claim.claimed_at) : null,
      completed_at: t.completed_at !== null ? Date.parse(t.completed_at) : null,
      concerns: t.worker_concerns,
    });
  });
  return counts;
}

async function countTicketFiles(ctx: RunCtx, dir: string): Promise<number> {
  return (await listDirForView(ctx, dir)).filter((n) => ticketIdOfFileName(n) !== undefined).length;
}

async function readClaims(ctx: RunCtx, now: number): Promise<ClaimView[]> {
  const claims: ClaimView[] = [];
  for (const worker of (await listDirForView(ctx, join(ctx.paths.dir, 'claimed'))).sort()) {
    for (const name of (await listDirForView(ctx, claimedDir(ctx, worker))).sort()) {
      const ticketId = ticketIdOfFileName(name);
      if (ticketId === undefined) continue;
      const t = await readTicketAt(ctx, join(claimedDir(ctx, worker), name)).catch(() => undefined);
      const expires = t?.claim ? Date.parse(t.claim.lease_expires_at) : Number.NaN;
      claims.push({
        worker_id: worker,
        ticket_id: ticketId,
        stage: t?.worker_type ?? ticketId.split('-')[0] ?? '',
        claimed_at: t?.claim?.claimed_at ?? null,
        lease_expires_at: t?.claim?.lease_expires_at ?? null,
        lease_left_ms: Number.isFinite(expires) ? expires - now : null,
        stalled: Number.isFinite(expires) && expires <= now,
      });
    }
  }
  return claims;
}

/** One stage's progress bar: counts, and the completion rate over the window with its ETA. */
async function stageProgress(
  ctx: RunCtx,
  stage: string,
  seen: { finished: Map<string, FinishedInfo>; finishedCounts: Map<string, FinishedCounts>; claims: ClaimView[]; now: number; windowMs: number },
): Promise<StageProgress> {
  const { now, windowMs } = seen;
  const f = seen.finishedCounts.get(stage) ?? { completed: 0, needs_review: 0, failed: 0 };
  const claimed = seen.claims.filter((c) => c.stage === stage).length;
  let pending = 0;
  // Why every lane: pending tickets of another priority, or delayed, wait in pending/<stage>/lanes/<lane>/.
  for (const lane of await pendingDirsOf(ctx, stage, new Set())) pending += await countTicketFiles(ctx, lane.dir);
  const born = await countTicketFiles(ctx, join(ctx.paths.registry, stage));
  const finishedNow = f.completed + f.needs_review + f.failed;
  // A registry smaller than what is finished is damaged (fsck says so): fall back to the listings.
  const total = born >= finishedNow ? born : finishedNow + claimed + pending;
  const done = [...seen.finished.values()].filter((x) => x.stage === stage && x.state === 'completed');
  const firstClaim = Math.min(...done.map((x) => x.claimed_at ?? x.completed_at ?? now));
  // Why: a run younger than the window would look slow if divided by the whole window.
  const from = Math.max(now - windowMs, Number.isFinite(firstClaim) ? firstClaim : now);
  const recent = done.filter((x) => x.completed_at !== null && x.completed_at >= now - windowMs && x.completed_at <= now).length;
  const spanMs = now - from;
  const perHour = recent > 0 && spanMs >= 1000 ? (recent * 3_600_000) / spanMs : null;
  const left = total - finishedNow;
  return {
    stage,
    total,
    completed: f.completed,
    needs_review: f.needs_review,
    failed: f.failed,
    pending,
    claimed,
    recent_completed: recent,
    per_hour: perHour === null ? null : Math.round(perHour * 100) / 100,
    eta_ms: perHour === null ? null : left === 0 ? 0 : Math.round((left / perHour) * 3_600_000),
  };
}

/** Concern counts over every finished ticket, and the newest `max` concerns. */
function recentConcerns(finished: Map<string, FinishedInfo>, max: number): { counts: Record<ConcernLevel, number>; recent: RecentConcern[] } {
  const all: RecentConcern[] = [];
  const counts = { info: 0, review: 0, error: 0 };
  for (const f of finished.values()) {
    for (const c of f.concerns) {
      counts[c.level] += 1;
      all.push({ ...c, ticket_id: f.ticket_id, stage: f.stage, state: f.state, ...(c.at === undefined && f.completed_at !== null ? { at: new Date(f.completed_at).toISOString() } : {}) });
    }
  }
  all.sort((a, b) => (b.at ?? '').localeCompare(a.at ?? '') || a.ticket_id.localeCompare(b.ticket_id));
  return { counts, recent: all.slice(0, max) };
}
