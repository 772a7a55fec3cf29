import { TqError, isTqError } from '../model/errors.js';
import { cleanId } from '../model/ids.js';
import { leaseMsOf, requestedLeaseMs } from '../model/pipeline.js';
import type { RunCtx } from '../store/run-context.js';
import { moveTicket, type DuplicateOutcome, type MoveOptions } from '../protocol/move-ticket.js';
import { retryThroughMove } from '../protocol/retry-through-move.js';
import { claimedLocation, pathOfLocation, type MoveTarget, type TicketLocation } from '../store/ticket-location.js';
import { withHistory } from '../model/serialize-ticket.js';
import { TicketState } from '../model/states.js';
import type { Ticket } from '../model/ticket-schema.js';
import { quarantineAndRestore } from './restore-ticket.js';
import { explainRefusal, type HoldCheck, type Refusal, type SetAsideFile } from './worker-refusal.js';

export interface WorkerMoveOptions {
  ticketId: string;
  workerId: string;
  token?: string;
}

/** A worker's ticket: claimed/<worker>/<id>.json, from the validated ids (INVALID_ID otherwise). */
export type HeldLocation = Extract<TicketLocation, { state: 'claimed' }>;

export function heldLocation(rawTicketId: string, rawWorkerId: string): HeldLocation {
  return claimedLocation(cleanId(rawTicketId, 'ticket id'), cleanId(rawWorkerId, 'worker id')) as HeldLocation;
}

export type HeldMoveOutcome =
  | { moved: true; ticket: Ticket; path: string }
  /** Not moved: `duplicate` when the worker's copy duplicated a finished ticket, `setAside` when it was not the ticket. */
  | { moved: false; duplicate?: DuplicateOutcome; setAside?: SetAsideFile };

/**
 * Move the ticket a worker holds (`loc`, fenced on `token` when given) to `to`, waiting out
 * someone else's move of it in flight (e.g. the daemon serving a heartbeat). Its content must
 * agree with `loc` (id, stage, status, claim.worker_id): a file that does not is quarantined and
 * the ticket restored from registry/ if it is nowhere else (`setAside`).
 */
export async function tryMoveHeldTicket(ctx: RunCtx, loc: HeldLocation, token: string | undefined, to: MoveTarget, build: MoveOptions['build']): Promise<HeldMoveOutcome> {
  const source = pathOfLocation(ctx, loc);
  try {
    const outcome = await retryThroughMove(ctx, loc.ticketId, 50, async () => {
      const o = await moveTicket(ctx, loc, { to, build, ...(token !== undefined ? { expectToken: token.trim() } : {}) });
      return !o.moved && o.reason === 'gone' ? undefined : o;
    });
    if (outcome?.moved) return { moved: true, ticket: outcome.ticket, path: outcome.path };
    return outcome?.reason === 'finished' ? { moved: false, duplicate: outcome } : { moved: false };
  } catch (err) {
    if (!isTqError(err, 'CORRUPT_TICKET') || err.file !== source) throw err;
    // Why: the file in the worker's directory is not the ticket it says (edited, copied, garbage):
    // nothing is moved on its word; it is kept for a human and the ticket itself made whole.
    const r = await quarantineAndRestore(ctx, loc, source, err.message);
    return { moved: false, setAside: { why: err.message, ...(err.field !== undefined ? { field: err.field } : {}), ...r } };
  }
}

/**
 * The error for a worker move that did not happen (see explainRefusal; pass `refusal` when
 * already explained), with `data` added and `suffix` appended to its message.
 */
export async function refusalError(ctx: RunCtx, check: HoldCheck, extra: { data?: Record<string, unknown>; suffix?: string; refusal?: Refusal } = {}): Promise<TqError> {
  const r = extra.refusal ?? (await explainRefusal(ctx, check));
  const quarantined = check.duplicate?.quarantined ?? check.setAside?.quarantined;
  const restored = check.setAside?.restored;
  const data = { ...extra.data, ...(quarantined ? { quarantined } : {}), ...(restored ? { restored } : {}) };
  return new TqError(r.code, `${r.message}${extra.suffix ?? ''}`, {
    file: pathOfLocation(ctx, check.loc),
    hint: r.hint,
    ...(r.field !== undefined ? { field: r.field } : {}),
    ...(Object.keys(data).length > 0 ? { data } : {}),
  });
}

/** Move a ticket this worker holds; refused (LEASE_LOST, NOT_HOLDER, ALREADY_DONE, CORRUPT_TICKET) when it does not. */
async function moveHeldTicket(ctx: RunCtx, opts: WorkerMoveOptions, action: 'heartbeat' | 'release', to: (worker: string) => MoveTarget, build: MoveOptions['build']): Promise<{ ticket: Ticket; path: string }> {
  const loc = heldLocation(opts.ticketId, opts.workerId);
  const moved = await tryMoveHeldTicket(ctx, loc, opts.token, to(loc.worker), build);
  if (moved.moved) return { ticket: moved.ticket, path: moved.path };
  throw await refusalError(ctx, { action, loc, ...(opts.token ? { token: opts.token } : {}), ...(moved.duplicate ? { duplicate: moved.duplicate } : {}), ...(moved.setAside ? { setAside: moved.setAside } : {}) });
}

/** Extend the lease of a held ticket (from now, by the stage's lease or `lease`). */
export async function heartbeatTicket(ctx: RunCtx, opts: WorkerMoveOptions & { lease?: string | number }): Promise<{ ticket: Ticket; path: string }> {
  const now = ctx.clock.now();
  return moveHeldTicket(ctx, opts, 'heartbeat', (worker) => ({ state: TicketState.claimed, worker }), (t) => {
    if (!t.claim) throw new TqError('WRONG_STATE', `${t.ticket_id} has no claim record yet`, { field: 'claim' });
    const ms = opts.lease !== undefined ? requestedLeaseMs(ctx.config.pipeline, t.worker_type, opts.lease) : leaseMsOf(ctx.config.pipeline, t.worker_type);
    return {
      ...t,
      claim: { ...t.claim, lease_expires_at: new Date(now.getTime() + ms).toISOString() },
      history: withLastHeartbeat(t, now),
    };
  });
}

/** Heartbeats update one history entry instead of flooding the short history. */
function withLastHeartbeat(t: Ticket, now: Date): Ticket['history'] {
  const last = t.history[t.history.length - 1];
  const entry = { at: now.toISOString(), event: 'heartbeat', worker_id: t.claim?.worker_id ?? '' };
  if (last?.event === 'heartbeat') return [...t.history.slice(0, -1), entry];
  return withHistory(t, entry);
}

/** Give a held ticket back to pending/ (attempts unchanged: a release is not a failure). */
export async function releaseTicket(ctx: RunCtx, opts: WorkerMoveOptions & { reason?: string }): Promise<{ ticket: Ticket; path: string }> {
  const now = ctx.clock.now().toISOString();
  return moveHeldTicket(ctx, opts, 'release', () => ({ state: TicketState.pending }), (t) => ({
    ...t,
    status: 'pending',
    claim: null,
    history: withHistory(t, { at: now, event: 'released', from: 'claimed', to: 'pending', worker_id: cleanId(opts.workerId, 'worker id'), ...(opts.reason ? { note: opts.reason } : {}) }),
  }));
}
