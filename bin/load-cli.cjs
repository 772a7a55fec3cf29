// Loads the CLI for bin/tq.js: the esbuild bundle dist/bundle/tq.cjs (made by
// `npm run build`), compiled with its V8 code cache, when it is at least as new as the tsc
// output; else dist/cli/main.js. Why the age check: a bare `tsc` (an editor, an older script)
// rebuilds dist/cli but not the bundle, and a stale bundle must never run.
//
// The code cache (tq.cjs.cache) starts with the build id of the bundle it was made from (the
// bundle's first line, `//tq-build:<40 hex>`, new at every build; a bundle without one is
// identified by its SHA-1); V8 also refuses a cache from another Node version, other flags or
// a source of another length. Why a build id and not a hash of the bundle at every start:
// hashing it and loading node:crypto for that cost ~3–5 ms of every command.
// A cache that does not fit is ignored (the bundle compiles as usual) and, when it was missing
// or refused, rewritten at exit if dist/ is writable. TQ_CODE_CACHE=0 turns the cache off.
// CommonJS on purpose: an ES module pays the ESM loader's translation of every builtin it
// imports (~12 ms in a CPU profile of `tq status`); require() of a builtin is nearly free.
'use strict';
const { readFileSync, renameSync, rmSync, statSync, writeFileSync } = require('node:fs');
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

/** The bundle's build id (its first line), else its SHA-1 (a bundle built before build ids). */
function bundleId(source) {
  const m = /^\/\/tq-build:([0-9a-f]{40})\n/.exec(source.slice(0, 64));
  return m ? m[1] : require('node:crypto').createHash('sha1').update(source).digest('hex');
}

function runBundle(opts) {
  // Why latin1: the bundle is ASCII (esbuild escapes the rest; the build checks it), and latin1
  // decoding is a plain copy into a one-byte string, cheaper than UTF-8's (~0.5 ms a start).
  const source = readFileSync(BUNDLE, 'latin1');
  const hash = bundleId(source);
  const cachedData = opts.ignoreCache ? undefined : readCache(hash);
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: BUNDLE, ...(cachedData ? { cachedData } : {}) });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(BUNDLE), module, BUNDLE, dirname(BUNDLE));
  compiled = { script, hash, cache: cachedData === undefined ? 'none' : script.cachedDataRejected ? 'rejected' : 'accepted' };
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

/** How the bundle was compiled: with its code cache ('accepted'), 'rejected' by V8, 'none' (missing or of another build); undefined before the bundle is loaded or when the tsc output runs. */
function codeCacheState() {
  return compiled?.cache;
}

module.exports = { bundleIsCurrent, codeCacheState, loadCli, saveCodeCache };
