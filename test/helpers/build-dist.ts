import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { REPO_ROOT } from './make-run.js';
import { waitFor } from './wait-for.js';

export const BIN = join(REPO_ROOT, 'bin', 'tq.js');
export const DIST_INDEX = join(REPO_ROOT, 'dist', 'index.js');
/** The esbuild bundle bin/tq.js runs (bin/load-cli.cjs falls back to dist/cli when it is older). */
export const DIST_BUNDLE = join(REPO_ROOT, 'dist', 'bundle', 'tq.cjs');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function distIsFresh(): boolean {
  const files = [DIST_INDEX, join(REPO_ROOT, 'dist', 'cli', 'main.js'), DIST_BUNDLE];
  if (!files.every((f) => existsSync(f))) return false;
  const built = Math.min(...files.map((f) => statSync(f).mtimeMs));
  return built >= newestMtime(join(REPO_ROOT, 'src'));
}

/**
 * Build dist/ as `npm run build` does (tsc, then the esbuild bundle) only when it is missing or
 * older than src/ (cheap when fresh).
 * A lock directory keeps test files that run in parallel from building at the same time.
 */
export async function ensureDistBuilt(): Promise<void> {
  if (distIsFresh()) return;
  const lock = join(tmpdir(), `tq-build-lock-${createHash('sha256').update(REPO_ROOT).digest('hex').slice(0, 12)}`);
  let held = false;
  const tryLock = (): boolean => {
    try {
      mkdirSync(lock);
      held = true;
    } catch {
      held = false;
    }
    return held;
  };
  try {
    // 30 s: a build takes well under that on an idle machine (waitFor paces it on a busy one).
    await waitFor(() => distIsFresh() || tryLock(), 30_000, 'a parallel build of dist/');
  } catch {
    // A stale lock from a killed test run: take it over.
    rmSync(lock, { recursive: true, force: true });
    tryLock();
  }
  if (!held) return;
  try {
    if (distIsFresh()) return;
    try {
      execFileSync('npx', ['tsc', '-p', '.'], { cwd: REPO_ROOT, stdio: 'pipe' });
    } catch (err) {
      // Why: another area's work in progress may not typecheck; tsc still emits, and the
      // core and CLI files these tests need are checked below.
      if (!existsSync(DIST_INDEX)) throw err;
    }
    // After tsc, so the bundle is the newer of the two and bin/tq.js runs it.
    execFileSync(process.execPath, [join(REPO_ROOT, 'scripts', 'build-bundle.mjs')], { cwd: REPO_ROOT, stdio: 'pipe' });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
