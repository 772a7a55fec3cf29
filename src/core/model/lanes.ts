/**
 * Lanes: how a stage's pending tickets are ordered without reading them. A pending ticket of
 * priority 0 that may be claimed now sits in `pending/<stage>/` itself (the layout every run
 * has always had); any other sits in a lane directory `pending/<stage>/lanes/<lane>/`, whose
 * name says its priority and, for a delayed ticket, when it becomes due:
 *
 *   p5                          priority 5, claimable now
 *   p-2                         priority -2 (after everything of priority >= 0)
 *   p0.due-20301126T110330Z     priority 0, claimable from 2030-11-26 11:03:30 UTC
 *   p5.due-20301126T110330Z     priority 5, claimable from then
 *
 * Why names: a claim must not read tickets to order them (its cost must stay flat from 1,000 to
 * 1,000,000 pending), and the lanes/ listing is small (one entry per priority and due second in
 * use), so a claim lists it, skips lanes not due yet and takes from the first one in order.
 * The lane is a pure function of the ticket's `priority` and `not_before`, so every writer (and
 * crash recovery) files a ticket in the same place.
 */

/** Priorities are integers in this range; 0 is the default. Higher is claimed first. */
export const PRIORITY_MIN = -1000;
export const PRIORITY_MAX = 1000;

/** A lane as its name describes it. `name` undefined: the stage directory itself (priority 0, due). */
export interface Lane {
  name: string | undefined;
  priority: number;
  /** When its tickets become claimable (ms since the epoch); undefined: now. */
  dueMs?: number;
}

const LANE_RE = /^p(0|-?[1-9]\d{0,3})(?:\.due-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z)?$/;

/** `20301126T110330Z`: a due time as a lane name carries it (whole seconds, UTC). */
export function dueStamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

/** The lane directory name for a priority and due time, or undefined for the stage directory itself. */
export function laneNameOf(priority: number, dueMs?: number): string | undefined {
  if (priority === 0 && dueMs === undefined) return undefined;
  return `p${priority}${dueMs !== undefined ? `.due-${dueStamp(dueMs)}` : ''}`;
}

/** A lane directory name, parsed; undefined for any other name (fsck reports it). */
export function parseLaneName(name: string): Lane | undefined {
  const m = LANE_RE.exec(name);
  if (!m) return undefined;
  const priority = Number(m[1]);
  if (priority < PRIORITY_MIN || priority > PRIORITY_MAX) return undefined;
  if (m[2] === undefined) return priority === 0 ? undefined : { name, priority };
  const dueMs = Date.UTC(Number(m[2]), Number(m[3]) - 1, Number(m[4]), Number(m[5]), Number(m[6]), Number(m[7]));
  // Why compare back: Date.UTC rolls month 13 or second 61 over instead of refusing them.
  if (!Number.isFinite(dueMs) || dueStamp(dueMs) !== name.slice(name.indexOf('.due-') + 5)) return undefined;
  return { name, priority, dueMs };
}

/**
 * The lane a pending ticket belongs in: from its priority and its not_before (rounded up to the
 * whole second: the lane's due time is never earlier than the ticket's own).
 */
export function laneOfTicket(t: { priority?: number | undefined; not_before?: string | undefined }): string | undefined {
  const due = t.not_before !== undefined ? Date.parse(t.not_before) : Number.NaN;
  return laneNameOf(t.priority ?? 0, Number.isFinite(due) ? Math.ceil(due / 1000) * 1000 : undefined);
}

/**
 * Claim order: higher priority first; within a priority, lanes that came due first, then the
 * lane of tickets that were never delayed. Why delayed ones first: they waited already (a retry
 * after a failure, a ticket scheduled for later), and are usually older than the undelayed rest.
 */
export function compareLanes(a: Lane, b: Lane): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  const ad = a.dueMs ?? Number.POSITIVE_INFINITY;
  const bd = b.dueMs ?? Number.POSITIVE_INFINITY;
  return ad - bd;
}

/** May tickets of this lane be claimed at `nowMs`? */
export function isLaneDue(lane: Lane, nowMs: number): boolean {
  return lane.dueMs === undefined || lane.dueMs <= nowMs;
}

/** Steps a not_before is rounded up to (ms), smallest first. */
const STEPS_MS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21_600, 43_200, 86_400].map((s) => s * 1000);

/**
 * The not_before of a ticket delayed by `delayMs` from `nowMs`: rounded up to a step of at most
 * a twentieth of the delay (1 s for a 30 s retry, 30 s for a 10 minute delay), never earlier
 * than asked. Why round: every distinct due second is a lane directory; rounding keeps the
 * lanes/ listing a claim reads short, at the cost of starting at most 5% of the delay late.
 */
export function roundNotBefore(nowMs: number, delayMs: number): string {
  const wanted = nowMs + delayMs;
  let step = STEPS_MS[0] as number;
  for (const s of STEPS_MS) if (s * 20 <= delayMs) step = s;
  return new Date(Math.ceil(wanted / step) * step).toISOString();
}
