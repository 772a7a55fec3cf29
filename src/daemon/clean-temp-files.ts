import { join } from 'node:path';
import { listDir, unlinkIfExists } from '../core/store/atomic-write.js';
import { errorLogOf, linkedDirOnPath, noteOnce, nowMs, relOf, type DaemonRun } from './daemon-run.js';

/**
 * Remove temp files that crashed writers left in .tmp/. Only names seen on earlier passes and
 * older than settle.tmpMs go: a live writer renames its temp file within milliseconds.
 * .tmp/ must be a real directory of the run: a link there would make us delete files outside it.
 */
export async function cleanTempFiles(run: DaemonRun): Promise<void> {
  const linked = await linkedDirOnPath(run.ctx, run.ctx.paths.tmp);
  if (linked !== undefined) {
    noteOnce(run, `linked\0${linked}`, { action: 'error', file: relOf(run, linked), note: `${relOf(run, linked)} is not a real directory (a symbolic link?): nothing in it is removed` });
    run.tmpSeen.clear();
    return;
  }
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
    try {
      if (await unlinkIfExists(run.ctx, join(run.ctx.paths.tmp, name))) run.log({ action: 'removed temp file', file: `.tmp/${name}`, note: 'left by an interrupted write' });
      run.tmpSeen.delete(name);
    } catch (err) {
      // Why go on: one entry that cannot be removed (a directory) must not keep the others.
      noteOnce(run, `tmp\0${name}`, { action: 'error', file: `.tmp/${name}`, note: 'cannot remove it (a directory?); left alone', error: errorLogOf(err) });
    }
  }
  for (const name of run.tmpSeen.keys()) if (!present.has(name)) run.tmpSeen.delete(name);
}
