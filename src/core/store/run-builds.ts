import { join } from 'node:path';
import { errnoCode } from '../model/errors.js';
import type { Fs } from './fs-layer.js';
import { removeTree } from './remove-tree.js';
import { parseCreatingDirName } from './run-names.js';

/** A run directory a `tq create` was building under a temp name (store/run-names.ts creatingDirName). */
export interface RunBuild {
  /** Its name in the root. */
  name: string;
  runId: string;
  pid: number;
  /** Its creator is no longer running on this machine: it was killed, the run was never created. */
  abandoned: boolean;
}

/** The runs being built (or left half-built by a killed `tq create`) under `root`. */
export async function listRunBuilds(fs: Pick<Fs, 'readdir'>, root: string): Promise<RunBuild[]> {
  let names: string[];
  try {
    names = await fs.readdir(root);
  } catch {
    return [];
  }
  const builds: RunBuild[] = [];
  for (const name of names.sort()) {
    const parsed = parseCreatingDirName(name);
    if (parsed) builds.push({ name, ...parsed, abandoned: !isProcessAlive(parsed.pid) });
  }
  return builds;
}

/**
 * Remove what killed creates of `runId` left under `root`. Why only abandoned ones: another
 * `tq create` of the same id may be building right now; it then finds the name taken or wins.
 * RACE: a pid is per machine (and per pid namespace): a create running in another container
 * on the same root looks abandoned here; its rename then fails and it reports the error.
 */
export async function removeAbandonedBuilds(fs: Fs, root: string, runId: string): Promise<string[]> {
  const removed: string[] = [];
  for (const b of await listRunBuilds(fs, root)) {
    if (b.runId !== runId || !b.abandoned) continue;
    await removeTree(fs, join(root, b.name));
    removed.push(b.name);
  }
  return removed;
}

function isProcessAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, owned by someone else.
    return errnoCode(err) !== 'ESRCH';
  }
}
