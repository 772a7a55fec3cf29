#!/usr/bin/env node
// Bundle the CLI with esbuild into dist/bundle/ (run by `npm run build` after tsc).
//
// Why: loading ~150 ES modules one by one was about half of every `tq claim`. The bundle is
// ESM with code splitting, so each command's code (and its dependencies: chokidar for the
// daemon, log-update for top, the graph renderers) sits in its own chunk and is loaded only
// when that command runs. bin/tq.js runs the bundle; library users keep dist/index.js (tsc).
import { build } from 'esbuild';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const OUT_DIR = join(ROOT, 'dist', 'bundle');

/**
 * zod re-exports its ~40 message locales as `z.locales`; tq uses only the English messages
 * (set by default), so the bundle keeps just `en`: a quarter of a megabyte less to parse on
 * every run.
 */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /\/locales\/index\.js$/ }, (args) => (/[\\/]zod[\\/]/.test(args.importer) ? { path: join(dirname(args.importer), '..', 'locales', 'index.js'), namespace: 'zod-locales' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({ contents: `export { default as en } from ${JSON.stringify(join(dirname(args.path), 'en.js'))};`, loader: 'js', resolveDir: dirname(args.path) }));
  },
};

export async function buildBundle(outDir = OUT_DIR) {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const result = await build({
    entryPoints: { tq: join(ROOT, 'src', 'cli', 'main.ts') },
    outdir: outDir,
    plugins: [zodEnglishOnly],
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Whitespace and syntax only: stack traces (TQ_DEBUG) keep their function names.
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: 'linked',
    chunkNames: 'chunks/[name]-[hash]',
    // Why: bundled CommonJS dependencies call require(); ESM output has none of its own.
    banner: { js: "import { createRequire as __tqCreateRequire } from 'node:module'; const require = __tqCreateRequire(import.meta.url);" },
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });
  await writeFile(join(outDir, 'meta.json'), JSON.stringify(result.metafile));
  return result;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildBundle(process.argv[2]);
}
