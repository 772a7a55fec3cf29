#!/usr/bin/env node
// Entry of the throughput-per-filesystem bench: set up sshfs and GlusterFS (as root, with
// apt-get, like `npm run test:multihost`), build dist/ (the workers run it), bundle
// measure-throughput.ts (it reuses the TypeScript set-up helpers of the multihost tests) and run it.
// Usage: node scripts/multihost/measure-throughput.mjs [--quick] [--tickets-local N] [--tickets-sshfs N] [--tickets-glusterfs N] [--no-write]
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const step = (cmd, args) => {
  const r = spawnSync(cmd, args, { cwd: repo, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
step(process.execPath, [join(here, 'ensure-multihost-tools.mjs')]);
step('npm', ['run', 'build']);
// Why beside the multihost helpers: they find the worker fixtures they spawn through import.meta.url,
// which in the bundle is the bundle's own location.
const out = join(repo, 'test', 'helpers', 'multihost', `.measure-throughput-${process.pid}.mjs`);
await build({ entryPoints: [join(here, 'measure-throughput.ts')], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: out, logLevel: 'warning' });
const r = spawnSync(process.execPath, [out, ...process.argv.slice(2)], { cwd: repo, stdio: 'inherit' });
rmSync(out, { force: true });
process.exit(r.status ?? 1);
