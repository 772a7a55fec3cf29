// Which build of the CLI bin/tq.js runs: the esbuild bundle (dist/bundle/tq.js, made by
// `npm run build`) when it is at least as new as the tsc output, else dist/cli/main.js.
// Why the check: a bare `tsc` (an editor, an older script) rebuilds dist/cli but not the
// bundle, and a stale bundle must never run.
import { statSync } from 'node:fs';

const BUNDLE = new URL('../dist/bundle/tq.js', import.meta.url);
const TSC = new URL('../dist/cli/main.js', import.meta.url);

function mtime(url) {
  try {
    return statSync(url).mtimeMs;
  } catch {
    return undefined;
  }
}

/** The URL of the CLI module to import (it exports main). */
export function cliModule() {
  const bundle = mtime(BUNDLE);
  const tsc = mtime(TSC);
  return bundle !== undefined && (tsc === undefined || bundle >= tsc) ? BUNDLE.href : TSC.href;
}

/** Import the CLI module: { main, preloadCommands }. */
export function loadCli() {
  return import(cliModule());
}
