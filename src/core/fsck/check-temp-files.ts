import { join } from 'node:path';
import { unlinkIfExists } from '../store/atomic-write.js';
import { settledListing } from '../protocol/recover-moving.js';
import type { FsckProblem, FsckSession } from './fsck-session.js';

/** Temp files are never part of a state; after a crash they are just litter. */
export async function checkTempFiles(s: FsckSession): Promise<void> {
  const { ctx } = s;
  const temps = await settledListing(ctx, ctx.paths.tmp, s.repair ? s.settleMs : 0);
  if (temps.length === 0) return;
  const p: FsckProblem = { kind: 'temp_files', file: ctx.paths.tmp, message: `${temps.length} temp file(s) left by interrupted writes` };
  if (s.repair) {
    for (const t of temps) await unlinkIfExists(ctx, join(ctx.paths.tmp, t));
    p.repaired = 'removed';
  }
  s.problems.push(p);
}
