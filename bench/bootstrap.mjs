#!/usr/bin/env node
// `npm run bench` entry: set up what the bench needs, compile it, run it. Plain JS on purpose:
// it runs before bench/node_modules exists, so it cannot be compiled against the peers' types.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bench = dirname(fileURLToPath(import.meta.url));
const repo = join(bench, '..');
const say = (line) => process.stderr.write(`bench: ${line}\n`);

if (!existsSync(join(bench, 'node_modules'))) {
  say('installing the peers (npm install --prefix bench)...');
  const r = spawnSync('npm', ['install', '--prefix', bench, '--no-audit', '--no-fund'], { cwd: repo, stdio: 'inherit' });
  // Why: a peer that cannot be installed is reported by the bench, which then carries on without it.
  if (r.status !== 0) say('npm install --prefix bench failed; peers that did not install will be skipped');
}
const tscBin = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
// ticketq itself first (npm run build): the bench measures dist/ and bin/tq.js.
const build = spawnSync(process.execPath, [tscBin, '-p', join(repo, 'tsconfig.json')], { cwd: repo, stdio: 'inherit' });
if (build.status !== 0) {
  if (!existsSync(join(repo, 'dist', 'index.js'))) {
    say('building ticketq (tsc -p tsconfig.json) failed');
    process.exit(1);
  }
  say('ticketq built with type errors (tsc still emitted dist/); carrying on');
}
// The CLI bundle and its code cache (the second half of npm run build): bin/tq.js runs the
// bundle only when it is at least as new as the tsc output, so it must be rebuilt after tsc.
const bundle = spawnSync(process.execPath, [join(repo, 'scripts', 'build-bundle.mjs')], { cwd: repo, stdio: 'inherit' });
if (bundle.status !== 0) say('bundling the CLI failed: tq runs the unbundled tsc output, and figure 2 measures that');
const tsc = spawnSync(process.execPath, [tscBin, '-p', join(bench, 'tsconfig.json')], { cwd: repo, stdio: 'inherit' });
if (tsc.status !== 0) {
  // Why: tsc still emits JS; type errors from a peer that failed to install must not stop the rest.
  if (!existsSync(join(bench, 'dist', 'main.js'))) {
    say('compiling bench/ failed');
    process.exit(1);
  }
  say('bench/ compiled with type errors (a peer missing?); carrying on');
}
const r = spawnSync(process.execPath, [join(bench, 'dist', 'main.js'), ...process.argv.slice(2)], { cwd: repo, stdio: 'inherit' });
process.exit(r.status ?? 1);
