import { join } from 'node:path';
import { TqError } from '../model/errors.js';
import { cleanId } from '../model/ids.js';
import { leaseMsOf, requestedLeaseMs } from '../model/pipeline.js';
import { claimedDir, type RunCtx } from '../store/run-context.js';
import { moveTicket, type MoveOptions } from '../protocol/move-ticket.js';
import { retryThroughMove } from '../protocol/retry-through-move.js';
import { ticketFileName } from '../store/run-names.js';
import { withHistory } from '../model/serialize-ticket.js';
import type { Ticket } from '../model/ticket-schema.js';

export interface WorkerMoveOptions {
  ticketId: string;
  workerId: string;
  token?: string;
}

/** Where a worker's held ticket is. */
export function heldTicketPath(ctx: RunCtx, workerId: string, ticketId: string): string {
  return join(claimedDir(ctx, workerId), ticketFileName(ticketId));
}

/**
 * Move the ticket at `source` (held by a worker; fenced on `token` when given), waiting out
 * someone else's move of it in flight (e.g. the daemon serving a heartbeat). Undefined when the
 * worker no longer holds it (or it changed under every try).
 */
export async function tryMoveHeldTicket(ctx: RunCtx, source: string, ticketId: string, token: string | undefined, build: MoveOptions['build']): Promise<{ ticket: Ticket; path: string } | undefined> {
  const outcome = await retryThroughMove(ctx, ticketId, 50, async () => {
    const o = await moveTicket(ctx, source, { build, ...(token !== undefined ? { expectToken: token.trim() } : {}) });
    return !o.moved && o.reason === 'gone' ? undefined : o;
  });
  return outcome?.moved ? { ticket: outcome.ticket, path: outcome.path } : undefined;
}

/** Move a ticket this worker holds; LEASE_LOST when it no longer does. */
async function moveHeldTicket(ctx: RunCtx, opts: WorkerMoveOptions, action: string, build: MoveOptions['build']): Promise<{ ticket: Ticket; path: string }> {
  const ticketId = cleanId(opts.ticketId, 'ticket id');
  const workerId = cleanId(opts.workerId, 'worker id');
  const source = heldTicketPath(ctx, workerId, ticketId);
  const moved = await tryMoveHeldTicket(ctx, source, ticketId, opts.token, build);
  if (moved) return moved;
  throw new TqError('LEASE_LOST', `cannot ${action} ${ticketId}: it is not claimed by ${workerId}${opts.token ? ` with token ${opts.token}` : ''} (its lease expired, or it was released or requeued)`, {
    file: source,
    hint: `see where it is with \`tq show ${ctx.runId} ${ticketId}\``,
  });
}

/** Extend the lease of a held ticket (from now, by the stage's lease or `lease`). */
export async function heartbeatTicket(ctx: RunCtx, opts: WorkerMoveOptions & { lease?: string | number }): Promise<{ ticket: Ticket; path: string }> {
  const now = ctx.clock.now();
  return moveHeldTicket(ctx, opts, 'heartbeat', (t) => {
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
  return moveHeldTicket(ctx, opts, 'release', (t) => ({
    ...t,
    status: 'pending',
    claim: null,
    history: withHistory(t, { at: now, event: 'released', from: 'claimed', to: 'pending', worker_id: cleanId(opts.workerId, 'worker id'), ...(opts.reason ? { note: opts.reason } : {}) }),
  }));
}
