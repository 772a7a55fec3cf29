import { dirname, join } from 'node:path';
import { ALL_STATES } from '../model/states.js';
import { listDir } from '../store/atomic-write.js';
import { lstatEntry, type EntryKind } from './read-entry.js';
import { guardEntry } from './guard-entry.js';
import { isUnderUnsafeDir, quarantineProblem, stopRepairs, type FsckProblem, type FsckSession } from './fsck-session.js';

/**
 * The directories every run is made of, parents before children. Each must be a real directory
 * (or absent: they are created lazily).
 */
function skeletonDirs(s: FsckSession): string[] {
  const { paths } = s.ctx;
  return [
    ...ALL_STATES.map((state) => join(paths.dir, state)),
    paths.registry,
    paths.moving,
    paths.tmp,
    paths.quarantine,
    dirname(paths.cascadeDone),
    paths.cascadeDone,
    paths.requestedBy,
    paths.rejected,
    paths.requests,
    paths.inputs,
    paths.paused,
    paths.logs,
    paths.items,
  ];
}

/** The problem of a path that should be a real directory, or undefined when it is one (or absent). */
function notADirectoryProblem(path: string, what: EntryKind | undefined, consequence: string): FsckProblem | undefined {
  if (what === undefined || what === 'directory') return undefined;
  if (what === 'symlink') return { kind: 'symlink', file: path, message: `${path} is a symlink, not a directory; ticketq never follows links out of a run: ${consequence}` };
  return { kind: 'not_a_directory', file: path, message: `${path} is a ${what}, not a directory: ${consequence}` };
}

/**
 * Every directory of the run's skeleton (state directories, registry/, moving/, .tmp/,
 * quarantine/, cascade/...) is a real directory. One that is not is reported and left alone,
 * and nothing in this fsck is repaired: any move, write or delete could go through it, out of
 * the run. Runs first, so that no later phase lists or changes anything through it.
 */
export async function checkRunLayout(s: FsckSession): Promise<void> {
  const bad: FsckProblem[] = [];
  for (const dir of skeletonDirs(s)) {
    if (isUnderUnsafeDir(s, dir)) continue;
    await guardEntry(s, dir, undefined, async () => {
      const p = notADirectoryProblem(dir, await lstatEntry(s.ctx, dir), 'left alone; replace it with a real directory by hand');
      if (!p) return;
      s.unsafeDirs.add(dir);
      s.problems.push(p);
      bad.push(p);
    });
  }
  if (bad.length > 0) stopRepairs(s, bad[0]?.file ?? s.ctx.paths.dir, `${bad.map((p) => p.file).join(', ')} ${bad.length === 1 ? 'is' : 'are'} not a real directory, so a change could reach outside the run`);
  await checkRegistryStages(s);
}

/** registry/<stage>/ are real directories; --repair quarantines a link or file in their place (never what it points to). */
async function checkRegistryStages(s: FsckSession): Promise<void> {
  const { registry } = s.ctx.paths;
  if (s.unsafeDirs.has(registry)) return;
  for (const stage of await listDir(s.ctx, registry)) {
    const dir = join(registry, stage);
    await guardEntry(s, dir, undefined, async () => {
      const p = notADirectoryProblem(dir, await lstatEntry(s.ctx, dir), 'its entries are not birth records');
      if (!p) return;
      await quarantineProblem(s, p);
      if (p.repaired === undefined) s.unsafeDirs.add(dir);
    });
  }
}
