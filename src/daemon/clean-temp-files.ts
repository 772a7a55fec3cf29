import { join } from 'node:path';
import { listDir, unlinkIfExists } from '../core/store/atomic-write.js';
import { nowMs, type DaemonRun } from './daemon-run.js';

/**
 * Remove temp files that crashed writers left in .tmp/. Only names seen on earlier passes and
 * older than settle.tmpMs go: a live writer renames its temp file within milliseconds.
 */
export async function cleanTempFiles(run: DaemonRun): Promise<void> {
  const names = await listDir(run.ctx, run.ctx.paths.tmp);
  const now = nowMs(run);
  const present = new Set(names);
  for (const name of names) {
    const first = run.tmpSeen.get(name);
    if (first === undefined) {
      run.tmpSeen.set(name, now);
      continue;
    }
    if (now - first < run.settle.tmpMs) continue;
    if (await unlinkIfExists(run.ctx, join(run.ctx.paths.tmp, name))) run.log({ action: 'removed temp file', file: `.tmp/${name}`, note: 'left by an interrupted write' });
    run.tmpSeen.delete(name);
  }
  for (const name of run.tmpSeen.keys()) if (!present.has(name)) run.tmpSeen.delete(name);
}
