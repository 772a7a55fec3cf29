// Loads the CLI for bin/tq.js: the esbuild bundle dist/bundle/tq.cjs (made by
// `npm run build`), compiled with its V8 code cache, when it is at least as new as the tsc
// output; else dist/cli/main.js. Why the age check: a bare `tsc` (an editor, an older script)
// rebuilds dist/cli but not the bundle, and a stale bundle must never run.
//
// The code cache (tq.cjs.cache) starts with the SHA-1 of the bundle it was made from; V8 also
// refuses a cache from another Node version or other flags. A cache that does not fit is
// ignored (the bundle compiles as usual) and, when it was missing or refused, rewritten at
// exit if dist/ is writable. TQ_CODE_CACHE=0 turns the cache off.
// CommonJS on purpose: an ES module pays the ESM loader's translation of every builtin it
// imports (~12 ms in a CPU profile of `tq status`); require() of a builtin is nearly free.
'use strict';
const { readFileSync, renameSync, rmSync, statSync, writeFileSync } = require('node:fs');
const { createHash } = require('node:crypto');
const { createRequire } = require('node:module');
const { dirname, join } = require('node:path');
const { pathToFileURL } = require('node:url');
const vm = require('node:vm');

const BUNDLE = join(__dirname, '..', 'dist', 'bundle', 'tq.cjs');
const CACHE = `${BUNDLE}.cache`;
const TSC = join(__dirname, '..', 'dist', 'cli', 'main.js');
const HASH_LENGTH = 40;

let loaded;
let compiled;

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Is the bundle there and at least as new as dist/cli/main.js? */
function bundleIsCurrent() {
  const bundle = mtime(BUNDLE);
  const tsc = mtime(TSC);
  return bundle !== undefined && (tsc === undefined || bundle >= tsc);
}

function readCache(hash) {
  if (process.env.TQ_CODE_CACHE === '0') return undefined;
  try {
    const data = readFileSync(CACHE);
    return data.subarray(0, HASH_LENGTH).toString('latin1') === hash ? data.subarray(HASH_LENGTH) : undefined;
  } catch {
    return undefined;
  }
}

function runBundle(opts) {
  const source = readFileSync(BUNDLE, 'utf8');
  const hash = createHash('sha1').update(source).digest('hex');
  const cachedData = opts.ignoreCache ? undefined : readCache(hash);
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: BUNDLE, ...(cachedData ? { cachedData } : {}) });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(BUNDLE), module, BUNDLE, dirname(BUNDLE));
  compiled = { script, hash };
  if (!opts.ignoreCache && process.env.TQ_CODE_CACHE !== '0' && (!cachedData || script.cachedDataRejected)) {
    // At exit, so the cache holds the functions this run compiled too.
    process.once('exit', () => saveCodeCache());
  }
  return module.exports;
}

/** Write the code cache of the loaded bundle (atomically; silently not when dist/ is read-only). */
function saveCodeCache() {
  if (!compiled) return false;
  const tmp = `${CACHE}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, Buffer.concat([Buffer.from(compiled.hash, 'latin1'), compiled.script.createCachedData()]));
    renameSync(tmp, CACHE);
    return true;
  } catch {
    rmSync(tmp, { force: true });
    return false;
  }
}

/**
 * The CLI module: { main, preloadCommands }. Loaded once per process (the crash-test preload
 * and bin/tq.js share it). opts.ignoreCache: compile without the cache (to make a new one).
 */
async function loadCli(opts = {}) {
  loaded ??= bundleIsCurrent() ? runBundle(opts) : await import(pathToFileURL(TSC).href);
  return loaded;
}

module.exports = { bundleIsCurrent, loadCli, saveCodeCache };
