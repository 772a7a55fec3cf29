#!/usr/bin/env node
// A `tq work` program for the gallia pipeline's curate stage, with no model: approves the noun
// on stdin unless it is one of the arguments, which it refuses with a non-zero exit (so the
// attempt fails, tq retries it up to the stage's max_attempts, then the ticket goes to failed/).
//
//   tq work gallia --stage curate --until-empty -- node examples/gallia/curate-noun.mjs Hexagone
import { readFileSync } from 'node:fs';

const { noun } = JSON.parse(readFileSync(0, 'utf8'));
if (process.argv.slice(2).includes(noun)) {
  process.stderr.write(`model refused: ${noun} is on the deny list\n`);
  process.exit(2);
}
process.stdout.write(`${JSON.stringify({ noun, verdict: 'APPROVE', rationale: `${noun} reads as Gallia bureaucratic French` })}\n`);
