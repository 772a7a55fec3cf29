#!/usr/bin/env node
// Thin shim: all behaviour lives in dist/ (built by `npm install` / `npm run build`);
// load-cli.cjs loads the bundle (or the plain tsc output).
// CommonJS (bin/package.json says so) on purpose: an ES module entry makes Node start its ESM
// loader for this one file (~5 ms of CPU per `tq claim`); a CommonJS entry does not.
'use strict';
const { loadCli } = require('./load-cli.cjs');

// Why: zod compiles a fast parser (new Function) for each object schema the first time it
// parses with it; a one-shot command parses each schema once or twice, so compiling (which the
// code cache cannot hold) costs more than it saves (~9 ms of CPU per `tq claim`). The
// long-running commands keep it. Set before the CLI loads: zod reads it as it builds a schema.
// Parsers give the same results either way, so a line this misreads is only slower.
const LONG_RUNNING = new Set(['daemon', 'work', 'top', 'board', 'demo']);
if (!LONG_RUNNING.has(commandWord(process.argv.slice(2)))) globalThis.__zod_globalConfig ??= { jitless: true };

/** The command of a tq line: its first word that is neither an option nor --root's value. */
function commandWord(args) {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--root') i++;
    else if (!args[i].startsWith('-')) return args[i];
  }
  return undefined;
}

loadCli()
  .then(({ main }) => main(process.argv.slice(2)))
  .then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`tq: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exitCode = 1;
    },
  );
