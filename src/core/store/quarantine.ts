import { basename, dirname, join } from 'node:path';
import { errnoCode, ioError } from '../model/errors.js';
import { nonce } from '../model/ids.js';
import { checkRealDir, ensureDir, intoDir, type RunCtx } from './run-context.js';
import { writeFileAtomic } from './atomic-write.js';
import { quarantineFileName, whyFileName } from './run-names.js';
import { runRelPath, runRelText } from './run-paths.js';

/**
 * Move a file the queue cannot accept out of the state directories, into quarantine/, with a
 * <name>.why.json beside it saying what was wrong (and, with `originalPath`, which file it
 * was). Nothing is deleted. Returns the new path, or undefined if the file was already gone.
 * The entry itself may be anything (a FIFO, a link, a directory named like a ticket): rename
 * moves the entry, never what a link points to.
 */
export async function quarantineFile(ctx: RunCtx, path: string, reason: string, originalPath?: string): Promise<string | undefined> {
  // Why: the file is moved out of its directory; never out of a directory outside the run.
  if (!(await checkRealDir(ctx, dirname(path)))) return undefined;
  await ensureDir(ctx, ctx.paths.quarantine);
  // Why `originalPath`: a copy taken into moving/ by a move is quarantined under (and its
  // .why.json names) the file it was taken from, so people find it by that name.
  const name = quarantineFileName(basename(originalPath ?? path), nonce());
  const target = join(ctx.paths.quarantine, name);
  try {
    await intoDir(ctx, ctx.paths.quarantine, () => ctx.fs.rename(path, target), path);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw ioError(err, 'quarantining', path);
  }
  // Why relative paths: the .why.json is part of the run, which may be cloned or moved.
  const rel = (p: string): string => runRelPath(ctx.paths, p);
  const why = { file: rel(originalPath ?? path), ...(originalPath !== undefined ? { taken_from: rel(path) } : {}), quarantined_as: rel(target), reason: runRelText(ctx.paths, reason), at: ctx.clock.now().toISOString() };
  await writeFileAtomic(ctx, join(ctx.paths.quarantine, whyFileName(name)), `${JSON.stringify(why, null, 2)}\n`);
  return target;
}
