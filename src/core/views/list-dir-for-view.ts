import { isTqError } from '../model/errors.js';
import { listDir } from '../store/atomic-write.js';
import type { RunCtx } from '../store/run-context.js';

/**
 * listDir for reports (status, list, show, stats, top ...): a directory that is not a real
 * directory of the run (UNSAFE_PATH: a link out of the run, a file where a directory belongs)
 * is left alone and listed as empty, and its path is added to `unsafe` when given. Why: one
 * bad directory must not make a report fail, and what a link points to is not the run's.
 */
export async function listDirForView(ctx: RunCtx, dir: string, unsafe?: Set<string>): Promise<string[]> {
  try {
    return await listDir(ctx, dir);
  } catch (err) {
    if (!isTqError(err, 'UNSAFE_PATH')) throw err;
    unsafe?.add(err.file ?? dir);
    return [];
  }
}
