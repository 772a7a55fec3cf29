import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive, unmount } from './host-shell.js';

/** Every set-up directory starts with this, under os.tmpdir(). */
export const SETUP_PREFIX = 'tq-mh-';
const OWNER_FILE = 'owner.pid';

/** Record that this process owns set-up directory `dir` (a later sweep leaves it alone while we live). */
export async function claimSetupDir(dir: string): Promise<void> {
  await writeFile(join(dir, OWNER_FILE), String(process.pid));
}

function ownerAlive(dir: string): boolean {
  const file = join(dir, OWNER_FILE);
  // Why the age: a directory without its owner file may be one another process has just made.
  if (!existsSync(file)) return Date.now() - statSync(dir).mtimeMs < 60_000;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && isAlive(pid);
}

/**
 * Undo what an earlier run left behind when it was killed before its tear-down (its owner is
 * gone): unmount its mounts, stop its sshd, remove its directory. Why: a leftover mount of a dead
 * sshd hangs whatever walks /tmp, and a leftover glusterfs volume keeps its brick process.
 */
export async function sweepStaleSetups(): Promise<void> {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(SETUP_PREFIX) || name.endsWith('.pid')) continue;
    const dir = join(tmpdir(), name);
    if (ownerAlive(dir)) continue;
    for (const m of ['a', 'b']) await unmount(join(dir, m)).catch(() => undefined);
    const sshdPid = existsSync(join(dir, 'sshd.pid')) ? Number(readFileSync(join(dir, 'sshd.pid'), 'utf8').trim()) : 0;
    if (sshdPid > 0 && isAlive(sshdPid)) process.kill(sshdPid, 'SIGTERM');
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** Stop and delete the tqvol-<pid>-* volumes whose creating process is gone. */
export async function sweepStaleVolumes(gluster: (args: string[]) => Promise<string>): Promise<void> {
  const list = await gluster(['volume', 'list']).catch(() => '');
  for (const vol of list.split('\n').map((l) => l.trim())) {
    const pid = /^tqvol-(\d+)-/.exec(vol)?.[1];
    if (pid === undefined || isAlive(Number(pid))) continue;
    await gluster(['volume', 'stop', vol, 'force']).catch(() => undefined);
    await gluster(['volume', 'delete', vol]).catch(() => undefined);
  }
}
