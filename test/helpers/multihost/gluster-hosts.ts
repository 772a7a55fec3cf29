import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../wait-for.js';
import { isAlive, missingPrerequisite, sh, unmount } from './host-shell.js';
import { claimSetupDir, sweepStaleSetups, sweepStaleVolumes } from './sweep-stale.js';
import { setUpOrSkip, type HostsOrSkip, type UndoStack } from './two-hosts.js';

/**
 * Why: the FUSE client caches entries and attributes for 1 s by default, so a file another
 * client renamed into place (a daemon's reply) is read as the old one for up to 1 s. Measured by
 * daemon.multihost.test.ts (1 s poll): replies seen 0.6-2.0 s after the request with the
 * defaults, 0.2-1.7 s with these.
 */
export const GLUSTER_OPTIONS = 'attribute-timeout=0,entry-timeout=0';

/** Where the glusterd these tests start records its pid (one glusterd per machine: port 24007). */
const GLUSTERD_PID = join(tmpdir(), 'tq-mh-glusterd.pid');

/**
 * A GlusterFS volume with one brick in a temp directory, served by glusterd on this machine and
 * mounted twice with `mount -t glusterfs`: mount A and mount B are two hosts. The volume is
 * named after this process (tqvol-<pid>-<n>) so parallel test files do not collide.
 */
export function setUpGlusterHosts(): Promise<HostsOrSkip> {
  const missing = missingPrerequisite(['glusterd', 'gluster', '/sbin/mount.glusterfs']);
  if (missing) return Promise.resolve({ skip: `glusterfs: ${missing}` });
  // Why not 127.0.0.1: glusterd refuses loopback addresses for a brick.
  const ip = Object.values(networkInterfaces())
    .flat()
    .find((i) => i !== undefined && i.family === 'IPv4' && !i.internal)?.address;
  if (ip === undefined) return Promise.resolve({ skip: 'glusterfs: no non-loopback IPv4 address (glusterd refuses loopback bricks)' });
  return setUpOrSkip('glusterfs', async (undo) => {
    await sweepStaleSetups();
    const dir = await mkdtemp(join(tmpdir(), 'tq-mh-gluster-'));
    await claimSetupDir(dir);
    undo.push('remove the temp dir', () => rm(dir, { recursive: true, force: true }));
    await startGlusterd(undo);
    await sweepStaleVolumes(gluster);
    const vol = `tqvol-${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
    const brick = join(dir, 'brick');
    await mkdir(brick);
    await gluster(['volume', 'create', vol, `${ip}:${brick}`, 'force']);
    undo.push(`delete volume ${vol}`, () => gluster(['volume', 'delete', vol]));
    await gluster(['volume', 'start', vol]);
    undo.push(`stop volume ${vol}`, () => gluster(['volume', 'stop', vol, 'force']));
    const mounts = [join(dir, 'a'), join(dir, 'b')];
    for (const m of mounts) {
      await mkdir(m);
      await sh('mount', ['-t', 'glusterfs', '-o', GLUSTER_OPTIONS, `127.0.0.1:/${vol}`, m], 30_000);
      undo.push(`unmount ${m}`, () => unmount(m));
    }
    const [a, b] = mounts as [string, string];
    return { kind: 'glusterfs', a, b, what: `GlusterFS volume ${vol} (brick ${ip}:${brick}) mounted twice` };
  });
}

function gluster(args: string[]): Promise<string> {
  return sh('gluster', ['--mode=script', ...args], 60_000);
}

function glusterdPid(): number | undefined {
  if (!existsSync(GLUSTERD_PID)) return undefined;
  const pid = Number(readFileSync(GLUSTERD_PID, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
  // Why: a stale pid file may name a reused pid; only a glusterd is ever stopped.
  return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'glusterd' ? pid : undefined;
}

/**
 * Start glusterd unless one answers already. Stopped on tear-down when it is one these tests
 * started (ours or a killed earlier run's: its pid is in GLUSTERD_PID) and no volume is left
 * (another test file may still use it); a glusterd started otherwise is left alone.
 */
async function startGlusterd(undo: UndoStack): Promise<void> {
  const answers = async (): Promise<boolean> => gluster(['volume', 'list']).then(() => true, () => false);
  undo.push('stop glusterd', async () => {
    const left = (await gluster(['volume', 'list']).catch(() => '')).split('\n').filter((l) => l.trim() !== '' && !l.startsWith('No volumes'));
    const pid = glusterdPid();
    if (left.length > 0 || pid === undefined) return;
    process.kill(pid, 'SIGTERM');
    await waitFor(() => !isAlive(pid), 15_000, 'glusterd to exit');
    await rm(GLUSTERD_PID, { force: true });
  });
  if (await answers()) return;
  await sh('glusterd', ['-p', GLUSTERD_PID], 30_000);
  await waitFor(answers, 20_000, 'glusterd to answer');
}
