import { join } from 'node:path';
import { TqError } from '../model/errors.js';
import { cleanId, stageOfTicketId } from '../model/ids.js';
import { claimedDir, pathExists, stateDir, type RunCtx } from '../store/run-context.js';
import { ALL_STATES, TicketState } from '../model/states.js';
import { listDir } from '../store/atomic-write.js';
import { isMovingFileOf, ticketFileName } from '../store/run-names.js';

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
  const file = ticketFileName(ticketId);
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

/** Is a move of this ticket in flight right now (moving/<id>~*.prev.json)? */
export async function isInFlight(ctx: RunCtx, ticketId: string): Promise<boolean> {
  return (await listDir(ctx, ctx.paths.moving)).some((n) => isMovingFileOf(n, ticketId));
}

/** How long a worker's own operation waits for someone else's move of its ticket to finish. */
export const IN_FLIGHT_PATIENCE_MS = 500;

/** How often a move in flight is looked at again. */
const IN_FLIGHT_POLL_MS = 20;

/**
 * Run `attempt` (at most `tries` times) until it finds the ticket: `undefined` means it was not
 * where `attempt` looked. While a move of the ticket is in flight, wait for it and try again;
 * when none is, give up (undefined). `recoverStalled`, if given, is called instead of waiting
 * once the ticket has been in flight for IN_FLIGHT_PATIENCE_MS (a live move takes
 * microseconds, so its mover crashed); without it, the move is only waited for.
 */
export async function retryWhileInFlight<T>(
  ctx: RunCtx,
  ticketId: string,
  tries: number,
  attempt: () => Promise<T | undefined>,
  recoverStalled?: () => Promise<unknown>,
): Promise<T | undefined> {
  const started = Date.now();
  for (let i = 0; i < tries; i += 1) {
    const found = await attempt();
    if (found !== undefined) return found;
    if (!(await isInFlight(ctx, ticketId))) return undefined;
    if (recoverStalled !== undefined && Date.now() - started >= IN_FLIGHT_PATIENCE_MS) await recoverStalled();
    else await new Promise((r) => setTimeout(r, IN_FLIGHT_POLL_MS));
  }
  return undefined;
}

/**
 * Find a ticket by id. A ticket in the middle of a move (a few syscalls) is waited for
 * briefly rather than reported missing.
 */
export async function locateTicket(ctx: RunCtx, rawId: string): Promise<TicketLocation> {
  const ticketId = cleanId(rawId, 'ticket id');
  const found = await retryWhileInFlight(ctx, ticketId, 50, async () => (await locateAll(ctx, ticketId))[0]);
  if (found) return found;
  throw new TqError('NOT_FOUND', `no ticket "${ticketId}" in run "${ctx.runId}"`, {
    hint: `list tickets with \`tq list ${ctx.runId}\``,
  });
}
