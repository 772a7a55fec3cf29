import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from './ticketq.js';

const HERE = dirname(fileURLToPath(import.meta.url));

/**
 * The CLI-latency experiment: bundle dist/cli/main.js (and everything it imports) into one
 * minified ESM file with esbuild, plus a two-line shim like bin/tq.js. Returns the shim's
 * path, or why it could not be built.
 */
export async function buildCliBundle(): Promise<{ bin: string } | { problem: string }> {
  const esbuild = join(REPO_ROOT, 'bench', 'node_modules', '.bin', 'esbuild');
  if (!existsSync(esbuild)) return { problem: 'esbuild is not installed in bench/node_modules' };
  const out = join(HERE, 'tq-bundle');
  await mkdir(out, { recursive: true });
  const r = spawnSync(esbuild, [join(REPO_ROOT, 'dist', 'cli', 'main.js'), '--bundle', '--minify', '--platform=node', '--format=esm', '--target=node20', `--outfile=${join(out, 'main.js')}`, '--log-level=error'], { encoding: 'utf8' });
  if (r.status !== 0) return { problem: `esbuild failed: ${(r.stderr || '').slice(0, 300)}` };
  const bin = join(out, 'tq.mjs');
  await writeFile(bin, "import { main } from './main.js';\nmain(process.argv.slice(2)).then((code) => { process.exitCode = code; });\n");
  return { bin };
}
