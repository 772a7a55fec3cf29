import { join } from 'node:path';
import { listDir } from '../store/atomic-write.js';
import { parseMovingFileName } from '../store/run-names.js';
import { recoverMoving, type RecoveryAction } from '../protocol/recover-moving.js';
import { lstatEntry } from './read-entry.js';
import { guardEntry } from './guard-entry.js';
import { isUnderUnsafeDir, stopRepairs, type FsckSession } from './fsck-session.js';

/**
 * Moves left in moving/: with --repair, finish (or undo) each one first, so the census below
 * sees every ticket where it ended up; without, report each as in flight. Entries that are not
 * regular files were reported (and quarantined) by check-special-entries.ts before: recovery
 * reads every file of moving/, and must never open a FIFO.
 */
export async function checkMoving(s: FsckSession): Promise<RecoveryAction[]> {
  const { ctx } = s;
  if (isUnderUnsafeDir(s, ctx.paths.moving)) return [];
  if (s.repair) {
    const left = await specialEntriesLeft(s);
    if (left.length > 0) stopRepairs(s, left[0] as string, `${left.join(', ')} in moving/ could not be quarantined, and recovery would open it`);
    else {
      let actions: RecoveryAction[] = [];
      await guardEntry(s, ctx.paths.moving, undefined, async () => {
        actions = await recoverMoving(ctx, s.settleMs);
      });
      return actions;
    }
  }
  for (const name of await listDir(ctx, ctx.paths.moving)) {
    const file = join(ctx.paths.moving, name);
    if (s.unacceptable.has(file)) continue;
    const ticketId = parseMovingFileName(name)?.ticketId;
    s.problems.push({ kind: 'in_flight', file, ...(ticketId !== undefined ? { ticket_id: ticketId } : {}), message: `${file}: a move${ticketId !== undefined ? ` of ${ticketId}` : ''} in flight or interrupted by a crash (run with --repair to finish it)` });
  }
  return [];
}

/** Entries of moving/ that are still there and are not regular files. */
async function specialEntriesLeft(s: FsckSession): Promise<string[]> {
  const left: string[] = [];
  for (const name of await listDir(s.ctx, s.ctx.paths.moving)) {
    const file = join(s.ctx.paths.moving, name);
    await guardEntry(s, file, undefined, async () => {
      const what = await lstatEntry(s.ctx, file);
      if (what !== undefined && what !== 'file') left.push(file);
    });
  }
  return left;
}
