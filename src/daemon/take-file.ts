import { join } from 'node:path';
import { errnoCode, ioError } from '../core/model/errors.js';
import { nonce } from '../core/model/ids.js';
import type { RunCtx } from '../core/store/run-context.js';
import { unlinkIfExists } from '../core/store/atomic-write.js';
import { parseTakenFileName, takenFileName } from '../core/store/run-names.js';

/** The name of the agent's file a taken file (run-names.ts takenFileName) was taken from, or undefined. */
export function originalOfTaken(name: string): string | undefined {
  return parseTakenFileName(name);
}

/**
 * Take an agent's file before acting on it, so that of two daemons only one acts, and a file
 * the agent writes meanwhile is a new file rather than one we are about to delete. Returns the
 * taken path, or undefined when someone else took it first. `atMs` (the daemon's clock) goes
 * into the taken name (run-names.ts takenFileName).
 */
export async function takeFile(ctx: RunCtx, dir: string, name: string, atMs?: number): Promise<string | undefined> {
  const taken = join(dir, takenFileName(name, nonce(), atMs));
  try {
    // RACE: the fence between daemons: exactly one rename of the agent's file succeeds.
    await ctx.fs.rename(join(dir, name), taken);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw ioError(err, 'taking', join(dir, name));
  }
  return taken;
}

/** Put a taken file back under its name, unless the agent has written a newer one there. */
export async function putBack(ctx: RunCtx, taken: string, original: string): Promise<void> {
  try {
    // Why: link, not rename: rename would overwrite a newer file the agent wrote meanwhile.
    await ctx.fs.link(taken, original);
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST' && errnoCode(err) !== 'ENOENT') throw ioError(err, 'putting back', original);
  }
  await unlinkIfExists(ctx, taken);
}
