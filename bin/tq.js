#!/usr/bin/env node
// Thin shim: all behaviour lives in dist/ (built by `npm install` / `npm run build`);
// load-cli.cjs loads the bundle (or the plain tsc output).
// Why no import statements: each builtin an ES module imports costs a translation by the ESM
// loader; load-cli.cjs is CommonJS and requires what it needs.
const { loadCli } = process.getBuiltinModule('node:module').createRequire(import.meta.url)('./load-cli.cjs');

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
