import { join } from 'node:path';
import { TqError } from '../model/errors.js';
import { cleanId, stageOfTicketId } from '../model/ids.js';
import { claimedDir, pathExists, stateDir, type RunCtx } from '../store/run-context.js';
import { ALL_STATES, TicketState } from '../model/states.js';
import { listDir } from '../store/atomic-write.js';

export interface TicketLocation {
  ticketId: string;
  state: TicketState;
  path: string;
  /** For claimed tickets: the worker directory it is in. */
  workerId?: string;
}

/** Every place a ticket id currently has a file (normally exactly one). Reads no bodies. */
export async function locateAll(ctx: RunCtx, ticketId: string): Promise<TicketLocation[]> {
  const stage = stageOfTicketId(ticketId);
  const file = `${ticketId}.json`;
  const found: TicketLocation[] = [];
  for (const state of ALL_STATES) {
    if (state === TicketState.claimed) {
      for (const worker of await listDir(ctx, join(ctx.paths.dir, 'claimed'))) {
        const path = join(claimedDir(ctx, worker), file);
        if (await pathExists(ctx, path)) found.push({ ticketId, state, path, workerId: worker });
      }
    } else {
      const path = join(stateDir(ctx, state, stage), file);
      if (await pathExists(ctx, path)) found.push({ ticketId, state, path });
    }
  }
  return found;
}

/** How long a worker's own operation waits for someone else's move of its ticket to finish. */
export const IN_FLIGHT_PATIENCE_MS = 500;

/**
 * A move of `ticketId` is in flight. Wait for it; if it is still there after
 * IN_FLIGHT_PATIENCE_MS (a live move takes microseconds), its mover crashed: finish or undo
 * it now (only this ticket's entries), so that a worker re-running its submit after a crash
 * gets its answer instead of a spurious LEASE_LOST.
 */
export async function awaitOrRecoverMove(ctx: RunCtx, ticketId: string, waitedMs: number): Promise<void> {
  if (waitedMs < IN_FLIGHT_PATIENCE_MS) {
    await new Promise((r) => setTimeout(r, 20));
    return;
  }
  const { recoverMoving } = await import('./recover-moving.js');
  await recoverMoving(ctx, 0, ticketId);
}

/** Is a move of this ticket in flight right now (moving/<id>~*.prev.json)? */
export async function isInFlight(ctx: RunCtx, ticketId: string): Promise<boolean> {
  return (await listDir(ctx, ctx.paths.moving)).some((n) => n.startsWith(`${ticketId}~`));
}

/**
 * Find a ticket by id. A ticket in the middle of a move (a few syscalls) is waited for
 * briefly rather than reported missing.
 */
export async function locateTicket(ctx: RunCtx, rawId: string): Promise<TicketLocation> {
  const ticketId = cleanId(rawId, 'ticket id');
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const found = await locateAll(ctx, ticketId);
    if (found[0]) return found[0];
    if (!(await isInFlight(ctx, ticketId))) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new TqError('NOT_FOUND', `no ticket "${ticketId}" in run "${ctx.runId}"`, {
    hint: `list tickets with \`tq list ${ctx.runId}\``,
  });
}
