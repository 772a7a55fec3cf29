import { join } from 'node:path';
import { listDir } from '../store/atomic-write.js';
import { recoverMoving, type RecoveryAction } from '../protocol/recover-moving.js';
import type { FsckSession } from './fsck-session.js';

/**
 * Moves left in moving/: with --repair, finish (or undo) each one first, so the census below
 * sees every ticket where it ended up; without, report each as in flight.
 */
export async function checkMoving(s: FsckSession): Promise<RecoveryAction[]> {
  const { ctx } = s;
  if (s.repair) return recoverMoving(ctx, s.settleMs);
  for (const name of await listDir(ctx, ctx.paths.moving)) {
    s.problems.push({ kind: 'in_flight', file: join(ctx.paths.moving, name), message: 'a move in flight or interrupted by a crash (run with --repair to finish it)' });
  }
  return [];
}
