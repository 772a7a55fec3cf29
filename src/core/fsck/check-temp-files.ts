import { join } from 'node:path';
import { unlinkIfExists } from '../store/atomic-write.js';
import { settledListing } from '../protocol/recover-moving.js';
import { guardEntry } from './guard-entry.js';
import { isUnderUnsafeDir, type FsckProblem, type FsckSession } from './fsck-session.js';

/** Temp files are never part of a state; after a crash they are just litter. */
export async function checkTempFiles(s: FsckSession): Promise<void> {
  const { ctx } = s;
  // Why: removing files through a symlinked .tmp would delete outside the run.
  if (isUnderUnsafeDir(s, ctx.paths.tmp)) return;
  // Entries that are not regular files were reported by check-special-entries.ts.
  const temps = (await settledListing(ctx, ctx.paths.tmp, s.repair ? s.settleMs : 0)).filter((t) => !s.unacceptable.has(join(ctx.paths.tmp, t)));
  if (temps.length === 0) return;
  const shown = temps.slice(0, 3).join(', ') + (temps.length > 3 ? ', ...' : '');
  const p: FsckProblem = { kind: 'temp_files', file: ctx.paths.tmp, message: `${ctx.paths.tmp}: ${temps.length} temp file(s) left by interrupted writes (${shown})` };
  if (s.repair) {
    const before = s.problems.length;
    for (const t of temps) {
      const file = join(ctx.paths.tmp, t);
      await guardEntry(s, file, undefined, async () => {
        await unlinkIfExists(ctx, file);
      });
    }
    if (s.problems.length === before) p.repaired = 'removed';
  }
  s.problems.push(p);
}
