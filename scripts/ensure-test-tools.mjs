#!/usr/bin/env node
// Installs the Debian tools the crash tests need (strace) when they are missing and we may.
// Why: CI runs on a fresh machine; the crash tests kill processes at exact syscalls with strace.
import { execFileSync, spawnSync } from 'node:child_process';

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

// Why here: `npm test` runs the multi-host tests too when their filesystems can be set up.
execFileSync(process.execPath, [new URL('./multihost/ensure-multihost-tools.mjs', import.meta.url).pathname], { stdio: 'inherit' });

const missing = ['strace', 'git'].filter((c) => !has(c));
if (missing.length === 0) process.exit(0);
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (!isRoot || !has('apt-get')) {
  console.error(`ensure-test-tools: missing ${missing.join(', ')}; install them (Debian: apt-get install ${missing.join(' ')})`);
  process.exit(0);
}
console.error(`ensure-test-tools: installing ${missing.join(', ')} with apt-get`);
try {
  execFileSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
} catch {
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}
