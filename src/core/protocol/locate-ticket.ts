import { join } from 'node:path';
import { TqError, isTqError } from '../model/errors.js';
import { cleanId, stageOfTicketId } from '../model/ids.js';
import { pendingDirsOf } from '../store/pending-lanes.js';
import { entryExists, type RunCtx } from '../store/run-context.js';
import { ALL_STATES, FINISHED_STATES, TicketState, type FinishedState } from '../model/states.js';
import { listDir } from '../store/atomic-write.js';
import { isMovingFileOf } from '../store/run-names.js';
import { claimedLocation, pathOfLocation, stateLocation, type TicketLocation as PathLocation } from '../store/ticket-location.js';

/** A file of a ticket found in a state directory: where it is, said by its path alone. */
export interface LocatedTicket {
  ticketId: string;
  state: TicketState;
  path: string;
  /** For claimed tickets: the worker directory it is in. */
  workerId?: string;
  /** The same, as a validated location (store/ticket-location.ts). */
  loc: PathLocation;
}

/** @deprecated the older name of LocatedTicket (store/ticket-location.ts has the path-only TicketLocation). */
export type TicketLocation = LocatedTicket;

/**
 * Every place a ticket id currently has a file (normally exactly one). Reads no bodies. Paths
 * are built from the validated id and worker directory names only; a worker directory whose name
 * is no valid worker id cannot hold a ticket (fsck reports it), nor can an invalid id be anywhere.
 */
export async function locateAll(ctx: RunCtx, rawTicketId: string): Promise<LocatedTicket[]> {
  // Why: an invalid id (a stray registry name, say) can be in no state directory.
  const ticketId = validLocation(() => stateLocation(TicketState.pending, rawTicketId))?.ticketId;
  if (ticketId === undefined) return [];
  const found: LocatedTicket[] = [];
  for (const state of ALL_STATES) {
    if (state === TicketState.claimed) {
      for (const worker of await listDir(ctx, join(ctx.paths.dir, TicketState.claimed))) {
        const loc = validLocation(() => claimedLocation(ticketId, worker));
        if (loc === undefined) continue;
        const path = pathOfLocation(ctx, loc);
        if (await entryExists(ctx, path)) found.push({ ticketId, state, path, workerId: worker, loc });
      }
    } else if (state === TicketState.pending) {
      // Why a set nobody reads: a lanes/ that is a link is skipped here; fsck reports it.
      for (const lane of await pendingDirsOf(ctx, stageOfTicketId(ticketId), new Set())) {
        const loc = stateLocation(state, ticketId, lane.name);
        const path = pathOfLocation(ctx, loc);
        if (await entryExists(ctx, path)) found.push({ ticketId, state, path, loc });
      }
    } else {
      const loc = stateLocation(state, ticketId);
      const path = pathOfLocation(ctx, loc);
      if (await entryExists(ctx, path)) found.push({ ticketId, state, path, loc });
    }
  }
  return found;
}

function validLocation(make: () => PathLocation): PathLocation | undefined {
  try {
    return make();
  } catch (err) {
    if (isTqError(err, 'INVALID_ID')) return undefined;
    throw err;
  }
}

/**
 * A finished copy (completed/, failed/, needs_review/) of the ticket other than `except`, or
 * undefined. Three lstats: cheap enough for every move into a finished state or into pending/.
 */
export async function finishedCopyOf(ctx: RunCtx, ticketId: string, except: readonly string[] = []): Promise<{ state: FinishedState; path: string } | undefined> {
  for (const state of FINISHED_STATES) {
    const path = pathOfLocation(ctx, stateLocation(state, ticketId));
    if (except.includes(path)) continue;
    // Why entryExists: no error object for the usual answer (nothing there).
    if (await entryExists(ctx, path)) return { state, path };
  }
  return undefined;
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
export async function locateTicket(ctx: RunCtx, rawId: string): Promise<LocatedTicket> {
  const ticketId = cleanId(rawId, 'ticket id');
  const found = await retryWhileInFlight(ctx, ticketId, 50, async () => (await locateAll(ctx, ticketId))[0]);
  if (found) return found;
  throw new TqError('NOT_FOUND', `no ticket "${ticketId}" in run "${ctx.runId}"`, {
    hint: `list tickets with \`tq list ${ctx.runId}\``,
  });
}
