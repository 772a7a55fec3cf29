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
// A run named like one of them only keeps the compiled parsers: the results are the same.
const LONG_RUNNING = new Set(['daemon', 'work', 'top', 'board', 'demo']);
if (!process.argv.slice(2).some((arg) => LONG_RUNNING.has(arg))) globalThis.__zod_globalConfig ??= { jitless: true };

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
