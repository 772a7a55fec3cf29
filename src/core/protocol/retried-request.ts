import { errnoCode } from '../model/errors.js';
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

/** What a failed rename or link did, asked after its error: see requestChecked. */
export type RequestVerdict = 'done' | 'retry' | 'failed';

/** How many times requestChecked makes a call whose error was spurious. */
const REQUEST_TRIES = 3;

/**
 * Make `op` (a rename or link); when it fails with `code` (ENOENT for a rename, EEXIST for a
 * link), ask `verdict` what really happened: 'done' (it took effect anyway: an NFS retried
 * request), 'retry' (it did nothing and still can be done: the error was spurious, e.g. a
 * rename's ENOENT while its source is still there), or 'failed' (the error is the truth: it is
 * thrown). Any other error is thrown as it comes.
 */
export async function requestChecked(op: () => Promise<void>, code: string, verdict: () => Promise<RequestVerdict>): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await op();
      return;
    } catch (err) {
      if (errnoCode(err) !== code) throw err;
      const v = await verdict();
      if (v === 'done') return;
      if (v === 'failed' || attempt >= REQUEST_TRIES) throw err;
    }
  }
}
