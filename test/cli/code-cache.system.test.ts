import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DIST_BUNDLE, ensureDistBuilt } from '../helpers/build-dist.js';
import { REPO_ROOT } from '../helpers/make-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';

let dir: string;
beforeAll(async () => {
  await ensureDistBuilt();
});
beforeEach(async () => {
  dir = await makeTempDir();
  // A copy of bin/load-cli.cjs and the bundle in the same layout (no dist/cli: the bundle is current).
  mkdirSync(join(dir, 'bin'));
  mkdirSync(join(dir, 'dist', 'bundle'), { recursive: true });
  copyFileSync(join(REPO_ROOT, 'bin', 'load-cli.cjs'), join(dir, 'bin', 'load-cli.cjs'));
  copyFileSync(DIST_BUNDLE, join(dir, 'dist', 'bundle', 'tq.cjs'));
  copyFileSync(`${DIST_BUNDLE}.cache`, join(dir, 'dist', 'bundle', 'tq.cjs.cache'));
});
afterEach(async () => {
  await removeDir(dir);
});

/** Load the copied bundle in a fresh node; what codeCacheState() says. */
function loadState(): string {
  const script = `const l = require(${JSON.stringify(join(dir, 'bin', 'load-cli.cjs'))}); l.loadCli().then(() => process.stdout.write(String(l.codeCacheState())));`;
  return execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, TQ_CODE_CACHE: '1' } });
}

const cacheFile = (): string => join(dir, 'dist', 'bundle', 'tq.cjs.cache');

describe('the CLI bundle and its V8 code cache', () => {
  it('the bundle starts with its build id, the cache is keyed on it, and V8 takes the cache', () => {
    const id = /^\/\/tq-build:([0-9a-f]{40})\n/.exec(readFileSync(DIST_BUNDLE, 'utf8').slice(0, 64))?.[1];
    expect(id).toMatch(/^[0-9a-f]{40}$/);
    expect(readFileSync(cacheFile()).subarray(0, 40).toString('latin1')).toBe(id);
    expect(loadState()).toBe('accepted');
  });

  it('a cache of another build is not used; the next start writes one for this build, which the start after takes', () => {
    const cache = readFileSync(cacheFile());
    writeFileSync(cacheFile(), Buffer.concat([Buffer.from('0'.repeat(40), 'latin1'), cache.subarray(40)]));
    expect(loadState()).toBe('none');
    const id = readFileSync(join(dir, 'dist', 'bundle', 'tq.cjs'), 'utf8').slice('//tq-build:'.length, '//tq-build:'.length + 40);
    expect(readFileSync(cacheFile()).subarray(0, 40).toString('latin1')).toBe(id);
    expect(loadState()).toBe('accepted');
  });
});
