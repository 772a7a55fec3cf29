#!/usr/bin/env node
// Thin shim: all behaviour lives in dist/cli/main.js (built by `npm install`).
import { main } from '../dist/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`tq: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  },
);
