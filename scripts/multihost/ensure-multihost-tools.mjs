#!/usr/bin/env node
// Installs the Debian packages the multi-host tests need (sshfs + a loopback sshd, GlusterFS)
// when they are missing and we may (root with apt-get). Never fails: a test whose filesystem
// cannot be set up is skipped and prints why (test/helpers/multihost/).
// Why apt-get here and not in the tests: two test files running in parallel would race for the
// dpkg lock; this runs once, before vitest (npm test, npm run test:multihost).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Command (or absolute path) -> the Debian package that provides it. */
const NEEDED = [
  ['sshfs', 'sshfs'],
  ['ssh', 'openssh-client'],
  ['ssh-keygen', 'openssh-client'],
  ['/usr/sbin/sshd', 'openssh-server'],
  ['/usr/lib/openssh/sftp-server', 'openssh-sftp-server'],
  ['glusterd', 'glusterfs-server'],
  ['gluster', 'glusterfs-server'],
  ['/sbin/mount.glusterfs', 'glusterfs-client'],
];

function has(cmd) {
  if (cmd.startsWith('/')) return existsSync(cmd);
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

const missing = [...new Set(NEEDED.filter(([cmd]) => !has(cmd)).map(([, pkg]) => pkg))];
if (missing.length === 0) process.exit(0);
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (!isRoot || !has('apt-get')) {
  console.error(`ensure-multihost-tools: missing ${missing.join(', ')}; the multi-host tests will be skipped (Debian: apt-get install ${missing.join(' ')})`);
  process.exit(0);
}
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
// Why the lock timeout: another apt-get (a neighbour's) may hold the dpkg lock for a while.
const install = ['-o', 'DPkg::Lock::Timeout=120', 'install', '-y', '-qq', '--no-install-recommends', ...missing];
const t0 = Date.now();
console.error(`ensure-multihost-tools: installing ${missing.join(', ')} with apt-get`);
try {
  try {
    execFileSync('apt-get', install, { stdio: 'inherit', env });
  } catch {
    execFileSync('apt-get', ['-o', 'DPkg::Lock::Timeout=120', 'update', '-qq'], { stdio: 'inherit', env });
    execFileSync('apt-get', install, { stdio: 'inherit', env });
  }
  console.error(`ensure-multihost-tools: installed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
} catch (err) {
  console.error(`ensure-multihost-tools: apt-get failed (${err.message}); the multi-host tests will be skipped`);
}
