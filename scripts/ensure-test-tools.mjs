#!/usr/bin/env node
// Installs the Debian tools the crash tests need (strace) when they are missing and we may.
// Why: CI runs on a fresh machine; the crash tests kill processes at exact syscalls with strace.
import { execFileSync, spawnSync } from 'node:child_process';

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

// Why here: `npm test` runs the multi-host tests too when their filesystems can be set up.
execFileSync(process.execPath, [new URL('./multihost/ensure-multihost-tools.mjs', import.meta.url).pathname], { stdio: 'inherit' });

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

// The board's browser tests (test/board/*.system.test.ts) drive Debian's chromium with
// playwright-core (no downloaded browser). Why apart and never fatal: without it those tests
// are skipped, saying why; the rest of the suite runs.
if (!has('chromium')) {
  if (!isRoot || !has('apt-get')) {
    console.error('ensure-test-tools: no chromium, the board browser tests will be skipped (Debian: apt-get install chromium)');
  } else {
    console.error('ensure-test-tools: installing chromium with apt-get (the board browser tests)');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    const install = update.status === 0 ? spawnSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'inherit', env }) : update;
    if (install.status !== 0) console.error('ensure-test-tools: apt-get could not install chromium; the board browser tests will be skipped');
  }
}

const missing = ['strace', 'git'].filter((c) => !has(c));
if (missing.length === 0) process.exit(0);
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
