import { join } from 'node:path';
import { unlinkIfExists } from '../core/store/atomic-write.js';
import { nowMs, type DaemonRun } from './daemon-run.js';
import { readAgentFile } from './read-agent-file.js';
import { putBack, takeFile } from './take-file.js';

/**
 * Take an agent's file only if it still holds the version we acted on; else leave the new one.
 * `stamped`: put the time of the take into the taken name (a request: recover-request.ts).
 */
export async function takeUnchanged(run: DaemonRun, dir: string, name: string, fingerprint: string, stamped = false): Promise<string | undefined> {
  const taken = await takeFile(run.ctx, dir, name, stamped ? nowMs(run) : undefined);
  if (taken === undefined) return undefined;
  const again = await readAgentFile(run.ctx.fs, taken);
  if (again.kind === 'text' && again.fingerprint === fingerprint) return taken;
  // RACE: the agent rewrote the file between our read and our take: give its new version back.
  await putBack(run.ctx, taken, join(dir, name));
  return undefined;
}

/** Delete an answered agent file, unless the agent has rewritten it since (then it is new work). */
export async function removeUnchanged(run: DaemonRun, dir: string, name: string, fingerprint: string): Promise<boolean> {
  const taken = await takeUnchanged(run, dir, name, fingerprint);
  if (taken === undefined) return false;
  await unlinkIfExists(run.ctx, taken);
  return true;
}

/**
 * A `.taken` file that stays is what a daemon that died mid-action left: put it back so the
 * action is retried (every action checks first whether it already happened).
 */
export async function restoreStaleTaken(run: DaemonRun, dir: string, takenName: string, original: string): Promise<void> {
  const path = join(dir, takenName);
  if (!run.memory.hasSettled(path, 'taken', nowMs(run), run.settle.takenMs)) return;
  await putBack(run.ctx, path, join(dir, original));
  run.memory.forget(path);
  run.log({ action: 'restored taken file', file: `${original}`, note: `a daemon stopped while acting on it; it will be handled again` });
}
