import { join } from 'node:path';
import { listDir } from '../store/atomic-write.js';
import { lstatEntry, type EntryKind } from './read-entry.js';
import { guardEntry } from './guard-entry.js';
import { isUnderUnsafeDir, quarantineProblem, type FsckProblem, type FsckSession } from './fsck-session.js';

/** The problem of an entry where only regular files belong, or undefined for a regular file (or none). */
export function specialEntryProblem(path: string, what: EntryKind | undefined, ticketId?: string): FsckProblem | undefined {
  if (what === undefined || what === 'file') return undefined;
  const id = ticketId !== undefined ? { ticket_id: ticketId } : {};
  if (what === 'symlink') return { kind: 'symlink', file: path, ...id, message: `${path} is a symlink; ticketq never follows links out of a run` };
  const why =
    what === 'directory' ? `a directory where only files belong${ticketId !== undefined ? ' (named like a ticket, but it is not a ticket file)' : ''}` : `a ${what}: never opened${what === 'FIFO' ? ' (opening a FIFO blocks until someone writes to it)' : ''}`;
  return { kind: 'special_file', file: path, ...id, message: `${path} is ${why}` };
}

/** The flat directories of a run that hold only regular files, besides the state directories. */
async function flatDirs(s: FsckSession): Promise<string[]> {
  const { paths } = s.ctx;
  const registryStages = isUnderUnsafeDir(s, paths.registry) ? [] : (await listDir(s.ctx, paths.registry)).map((stage) => join(paths.registry, stage));
  return [paths.moving, paths.tmp, paths.cascadeDone, paths.requestedBy, paths.rejected, paths.requests, paths.inputs, paths.logs, paths.paused, ...registryStages];
}

/**
 * FIFOs, sockets, devices, symlinks and directories in moving/, .tmp/, cascade/, rejected/,
 * requests/, inputs/, logs/, paused/ and registry/<stage>/: reported, never opened; --repair quarantines them
 * (the entry itself: a link is moved, never followed). Runs before every phase that reads
 * these directories, so that none of them opens one (the state directories are the census's).
 */
export async function checkSpecialEntries(s: FsckSession): Promise<void> {
  for (const dir of await flatDirs(s)) {
    if (isUnderUnsafeDir(s, dir)) continue;
    await guardEntry(s, dir, undefined, async () => {
      // Why lstat the directory first: one that is not a real directory was reported by the layout check.
      if ((await lstatEntry(s.ctx, dir)) !== 'directory') return;
      for (const name of await listDir(s.ctx, dir)) {
        const path = join(dir, name);
        await guardEntry(s, path, undefined, async () => {
          const p = specialEntryProblem(path, await lstatEntry(s.ctx, path));
          if (p) await quarantineProblem(s, p);
        });
      }
    });
  }
}
