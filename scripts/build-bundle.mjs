#!/usr/bin/env node
// Bundle the CLI with esbuild into dist/bundle/tq.cjs and train its V8 code cache (run by
// `npm run build` after tsc).
//
// Why: loading ~150 ES modules one by one was about half of every `tq claim`, and compiling
// the code much of the rest. One file loads in one read; bin/load-cli.cjs compiles it with the
// code cache made here (tq.cjs.cache), so V8 skips parsing and compiling what claim, submit and
// status run. Code behind a dynamic import() (each command, chokidar for the daemon, log-update
// for top, yargs for help and errors) is still bundled but runs only when needed: esbuild turns
// those imports into lazy initialisers. Library users keep dist/index.js (tsc).
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const OUT_DIR = join(ROOT, 'dist', 'bundle');

/**
 * zod re-exports its ~40 message locales as `z.locales`; tq uses only the English messages
 * (set by default), so the bundle keeps just `en`: a quarter of a megabyte less to load.
 */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /\/locales\/index\.js$/ }, (args) => (/[\\/]zod[\\/]/.test(args.importer) ? { path: join(dirname(args.importer), '..', 'locales', 'index.js'), namespace: 'zod-locales' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({ contents: `export { default as en } from ${JSON.stringify(join(dirname(args.path), 'en.js'))};`, loader: 'js', resolveDir: dirname(args.path) }));
  },
};

/**
 * Ajv (src/core/model/ajv-modules.ts) goes into a file of its own, dist/bundle/ajv-modules.cjs,
 * which the CLI requires only when it checks data against a stage schema. Why: bundled in, its
 * ~150 KB were read and hashed by every command (~1.5 ms of each `tq status`), for nothing.
 */
const AJV_MODULES = 'ajv-modules.cjs';
const ajvApart = {
  name: 'ajv-apart',
  setup(b) {
    // Why a shim that require()s it rather than marking the import external: esbuild keeps an
    // external import() as import(), which the bundle cannot run (bin/load-cli.cjs runs it in a
    // vm.Script without a dynamic-import callback); a require() goes through the bundle's require.
    b.onResolve({ filter: /[\\/]ajv-modules\.js$/ }, () => ({ path: AJV_MODULES, namespace: 'ajv-apart' }));
    b.onLoad({ filter: /.*/, namespace: 'ajv-apart' }, () => ({ contents: `module.exports = require(${JSON.stringify(`./${AJV_MODULES}`)});`, loader: 'js' }));
    b.onResolve({ filter: new RegExp(`^\\./${AJV_MODULES.replace('.', '\\.')}$`) }, (args) => ({ path: args.path, external: true }));
  },
};

/**
 * The web board (src/board/board-entry.ts) goes into dist/bundle/board.cjs, required only by
 * `tq board`: its server, watcher and views are not read by any other command. Same shim as Ajv.
 */
const BOARD = 'board.cjs';
const boardApart = {
  name: 'board-apart',
  setup(b) {
    b.onResolve({ filter: /[\\/]board[\\/]board-entry\.js$/ }, () => ({ path: BOARD, namespace: 'board-apart' }));
    b.onLoad({ filter: /.*/, namespace: 'board-apart' }, () => ({ contents: `module.exports = require(${JSON.stringify(`./${BOARD}`)});`, loader: 'js' }));
    b.onResolve({ filter: /^\.\/board\.cjs$/ }, (args) => ({ path: args.path, external: true }));
  },
};

/** The board's page: one script (browser, no framework), its HTML and CSS, into dist/board/static/. */
async function buildBoardPage() {
  const pageSrc = join(ROOT, 'src', 'board', 'page');
  const out = join(ROOT, 'dist', 'board', 'static');
  await mkdir(out, { recursive: true });
  await build({ entryPoints: [join(pageSrc, 'main.ts')], outfile: join(out, 'board.js'), bundle: true, format: 'iife', platform: 'browser', target: 'es2022', minify: true, legalComments: 'none', logLevel: 'warning' });
  await copyFile(join(pageSrc, 'index.html'), join(out, 'index.html'));
  await copyFile(join(pageSrc, 'board.css'), join(out, 'board.css'));
}

export async function buildBundle() {
  const outDir = OUT_DIR;
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const result = await build({
    entryPoints: [join(ROOT, 'src', 'cli', 'main.ts')],
    outfile: join(outDir, 'tq.cjs'),
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    // Full minification: less to read, hash and load from the code cache at every start.
    // Stack traces (TQ_DEBUG) map back with `node --enable-source-maps` (tq.cjs.map).
    minify: true,
    sourcemap: 'linked',
    // Why: some dependencies (yargs) find files from import.meta.url, which CJS has not.
    define: { 'import.meta.url': '__tqImportMetaUrl' },
    // The first line is the build id bin/load-cli.cjs keys the code cache on (new at every build).
    banner: { js: `//tq-build:${randomBytes(20).toString('hex')}\nconst __tqImportMetaUrl = require('node:url').pathToFileURL(__filename).href;` },
    plugins: [zodEnglishOnly, ajvApart, boardApart],
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });
  await build({ entryPoints: [join(ROOT, 'src', 'core', 'model', 'ajv-modules.ts')], outfile: join(outDir, AJV_MODULES), bundle: true, format: 'cjs', platform: 'node', target: 'node20', minify: true, sourcemap: 'linked', legalComments: 'none', logLevel: 'warning' });
  await build({
    entryPoints: [join(ROOT, 'src', 'board', 'board-entry.ts')],
    outfile: join(outDir, BOARD),
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    minify: true,
    sourcemap: 'linked',
    define: { 'import.meta.url': '__tqImportMetaUrl' },
    banner: { js: "const __tqImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
    plugins: [zodEnglishOnly, ajvApart],
    legalComments: 'none',
    logLevel: 'warning',
  });
  await buildBoardPage();
  await writeFile(join(outDir, 'meta.json'), JSON.stringify(result.metafile));
  // Why: bin/load-cli.cjs reads the bundle as latin1, which is only the same text for ASCII.
  const bundleBytes = await readFile(join(outDir, 'tq.cjs'));
  const nonAscii = bundleBytes.findIndex((b) => b > 0x7f);
  if (nonAscii >= 0) throw new Error(`dist/bundle/tq.cjs has a non-ASCII byte at offset ${nonAscii}: keep esbuild's charset 'ascii'`);
  // The cache holds what V8 compiled while these commands ran; made by the same Node that
  // will run it in the common case (another Node version rejects it and tq compiles as usual).
  const trained = spawnSync(process.execPath, [join(ROOT, 'scripts', 'train-code-cache.mjs')], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, TQ_DURABILITY: 'none' } });
  if (trained.status !== 0) process.stderr.write(`build-bundle: no code cache (tq still works, compiling at each start): ${trained.stderr}\n`);
  return result;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildBundle();
}
