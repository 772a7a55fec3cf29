import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile, copyFile } from 'node:fs/promises';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../wait-for.js';
import { freePort, isAlive, missingPrerequisite, sh, unmount } from './host-shell.js';
import { claimSetupDir, sweepStaleSetups } from './sweep-stale.js';
import { setUpOrSkip, type HostsOrSkip, type UndoStack } from './two-hosts.js';

const SSHD = '/usr/sbin/sshd';
/**
 * The sshfs options the tests mount with. Why no caches: a client that caches directory
 * listings, entries or attributes shows another host's renames late (issue 15's options).
 */
export const SSHFS_OPTIONS = 'dir_cache=no,entry_timeout=0,attr_timeout=0';

/**
 * A loopback sshd on 127.0.0.1 (its own host key, config and authorized key, all in a temp
 * directory: the system's sshd and root's ~/.ssh are left alone) exporting a temp directory,
 * mounted twice with sshfs: mount A and mount B are two hosts.
 */
export function setUpSshfsHosts(): Promise<HostsOrSkip> {
  const missing = missingPrerequisite(['sshfs', 'ssh', 'ssh-keygen', SSHD]);
  if (missing) return Promise.resolve({ skip: `sshfs: ${missing}` });
  return setUpOrSkip('sshfs', async (undo) => {
    await sweepStaleSetups();
    const dir = await mkdtemp(join(tmpdir(), 'tq-mh-sshfs-'));
    await claimSetupDir(dir);
    undo.push('remove the temp dir', () => rm(dir, { recursive: true, force: true }));
    const port = await startSshd(dir, undo);
    const exported = join(dir, 'export');
    await mkdir(exported);
    const mounts = [join(dir, 'a'), join(dir, 'b')];
    for (const m of mounts) {
      await mkdir(m);
      await sh('sshfs', ['-F', join(dir, 'ssh_config'), '-p', String(port), `root@127.0.0.1:${exported}`, m, '-o', SSHFS_OPTIONS], 20_000);
      undo.push(`unmount ${m}`, () => unmount(m));
    }
    const [a, b] = mounts as [string, string];
    return { kind: 'sshfs', a, b, what: `sshfs (${SSHFS_OPTIONS}) x2 of ${exported} via sshd on 127.0.0.1:${port}` };
  });
}

/** Start sshd -D on a free port with keys made in `dir`; returns the port. */
async function startSshd(dir: string, undo: UndoStack): Promise<number> {
  for (const key of ['host_key', 'user_key']) await sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, key)]);
  await copyFile(join(dir, 'user_key.pub'), join(dir, 'authorized_keys'));
  const port = await freePort();
  await writeFile(join(dir, 'sshd_config'), sshdConfig(dir, port));
  await writeFile(
    join(dir, 'ssh_config'),
    `Host *\n  IdentityFile ${dir}/user_key\n  IdentitiesOnly yes\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  BatchMode yes\n  LogLevel ERROR\n`,
  );
  // Why: sshd refuses to start without its privilege-separation directory (Debian's init script makes it).
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  const log = openSync(join(dir, 'sshd.log'), 'a');
  const sshd = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', log, log] });
  closeSync(log);
  undo.push('stop sshd', async () => {
    sshd.kill('SIGTERM');
    await waitFor(() => sshd.exitCode !== null || sshd.signalCode !== null || !isAlive(sshd.pid ?? 0), 10_000, 'sshd to exit');
  });
  const listening = `Server listening on 127.0.0.1 port ${port}`;
  await waitFor(() => sshd.exitCode !== null || readFileSync(join(dir, 'sshd.log'), 'utf8').includes(listening), 10_000, 'sshd to listen');
  if (sshd.exitCode !== null) throw new Error(`sshd exited ${sshd.exitCode}: ${readFileSync(join(dir, 'sshd.log'), 'utf8').trim()}`);
  return port;
}

function sshdConfig(dir: string, port: number): string {
  return [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${dir}/host_key`,
    `AuthorizedKeysFile ${dir}/authorized_keys`,
    `PidFile ${dir}/sshd.pid`,
    // Why: the keys live under /tmp (world-writable), which strict modes refuse.
    'StrictModes no',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    'UsePAM no',
    'Subsystem sftp internal-sftp',
    '',
  ].join('\n');
}
