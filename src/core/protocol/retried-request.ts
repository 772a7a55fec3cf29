import { readIfExists } from '../store/atomic-write.js';
import { entryExists, type RunCtx } from '../store/run-context.js';

/**
 * Did a rename or link that reported failure happen anyway? Asked where a rename reported
 * ENOENT or a link EEXIST: on NFS (v3 above all) a request the server carried out but whose
 * reply was lost is sent again, and the retry fails (the source is gone, the target exists)
 * although our own first request succeeded.
 *
 * True when `target` now holds what we meant to put there: the exact text `ours` when given (a
 * draft, a birth: text that names the ticket, its holder and its every change), else anything
 * at all (for a name only we can have made: a `.prev.json` with our own nonce, or a claim in
 * our own worker directory, which the claimer then checks before it counts the ticket as its
 * own). Never inode numbers or link counts: network filesystems invent or reuse both.
 */
export async function landedAnyway(ctx: RunCtx, target: string, ours?: string): Promise<boolean> {
  if (ours === undefined) return entryExists(ctx, target);
  return (await readIfExists(ctx, target)) === ours;
}
