#!/usr/bin/env node
// Thin shim: all behaviour lives in dist/ (built by `npm install` / `npm run build`);
// load-cli.js loads the bundle (or the plain tsc output).
import { loadCli } from './load-cli.js';

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
