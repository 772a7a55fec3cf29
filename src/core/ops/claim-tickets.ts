import { TqError } from '../model/errors.js';
import type { RunCtx } from '../store/run-context.js';
import { claimFromDir, claimThroughLanes, prepareClaim, type ClaimOptions, type ClaimResult } from './claim-ticket.js';

/** The most tickets one claimTickets call takes (a worker's slots are capped alike). */
export const MAX_CLAIM_BATCH = 1000;
/** How many claims of one batch are in flight at once: each waits for its rename and its stamp. */
const CLAIM_LOOPS = 16;

export interface ClaimManyOptions extends ClaimOptions {
  /** At most this many tickets (a whole number from 1 to MAX_CLAIM_BATCH). */
  max: number;
}

/** What the claim loops of one call share. */
interface Batch {
  max: number;
  /** Claims taken or in flight: a loop reserves one before it tries, so the batch never exceeds max. */
  reserved: number;
  claimed: ClaimResult[];
  failure?: unknown;
}

interface ClaimSpec {
  stage: string;
  workerId: string;
  leaseMs: number;
}

/**
 * Claim up to `max` pending tickets of a stage in one call: each is the same rename and stamp
 * as claimTicket's, but the per-call setup (ids, lease, pause check, claimed/<worker>/, the
 * directory checks, the lane order) is done once, and the claims run CLAIM_LOOPS at a time over
 * the shared cursor (so a durable run shares its directory fsyncs). Lanes are taken in
 * claimTicket's order; a lane is left only when it is empty. Returns the claimed tickets, an
 * empty list when nothing is claimable (claimTicket's null); PAUSED like claimTicket. An error
 * after some tickets were claimed returns those (they are this worker's now; the error comes
 * again on the next call if it lasts); an error before any is thrown.
 */
export async function claimTickets(ctx: RunCtx, opts: ClaimManyOptions): Promise<ClaimResult[]> {
  const max = checkMax(opts.max);
  // Why once: a batch is one decision; a pause that lands mid-batch stops the next call.
  const setup = await prepareClaim(ctx, opts);
  if (!setup) return [];
  const batch: Batch = { max, reserved: 0, claimed: [] };
  await claimThroughLanes(ctx, setup, {
    wantMore: () => batch.reserved < max && batch.failure === undefined,
    claimFrom: (dir) => claimFromLane(ctx, dir, setup.to, setup, batch),
  });
  if (batch.failure !== undefined && batch.claimed.length === 0) throw batch.failure;
  return batch.claimed;
}

function checkMax(max: number): number {
  if (!Number.isInteger(max) || max < 1 || max > MAX_CLAIM_BATCH) {
    throw new TqError('USAGE', `max ${String(max)} is not a whole number from 1 to ${MAX_CLAIM_BATCH}`, { field: 'max' });
  }
  return max;
}

/** Claim from one pending directory until the batch is full or the directory empty; true when it ran empty. */
async function claimFromLane(ctx: RunCtx, dir: string, to: string, spec: ClaimSpec, batch: Batch): Promise<boolean> {
  let emptied = false;
  const loop = async (): Promise<void> => {
    while (batch.reserved < batch.max && !emptied && batch.failure === undefined) {
      batch.reserved += 1;
      let claimed: ClaimResult | null;
      try {
        claimed = await claimFromDir(ctx, dir, to, spec);
      } catch (err) {
        batch.reserved -= 1;
        batch.failure ??= err;
        return;
      }
      if (claimed) batch.claimed.push(claimed);
      else {
        batch.reserved -= 1;
        emptied = true;
      }
    }
  };
  const loops = Math.min(CLAIM_LOOPS, batch.max - batch.reserved);
  await Promise.all(Array.from({ length: loops }, () => loop()));
  return emptied;
}
