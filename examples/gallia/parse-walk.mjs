#!/usr/bin/env node
// A `tq work` program for the gallia pipeline's parse stage, with no model: one walk on stdin,
// its beats on stdout, in the shape stages.parse.output_schema asks for.
//
//   tq work gallia --stage parse --until-empty -- node examples/gallia/parse-walk.mjs
//
// A beat's function comes from its punctuation and first words: a stand-in for what an agent
// would judge. Swap in any program that reads the walk and prints the same JSON.
import { readFileSync } from 'node:fs';

const walk = JSON.parse(readFileSync(0, 'utf8'));
const functionOf = (text) => (/\?\s*$/.test(text) ? 'challenge' : /^(Go|Take|Show|Sign|Papers)\b/.test(text) ? 'demand' : /\b(fee|later|not now)\b/i.test(text) ? 'deflect' : 'inform');
const beats = (walk.nodes ?? []).map((n) => ({ node_id: n.node_id, speaker: n.speaker, text: n.text, function: functionOf(n.text) }));
if (beats.length === 0) {
  process.stderr.write(`walk ${walk.id} has no nodes\n`);
  process.exit(2);
}
process.stdout.write(`${JSON.stringify({ walk_id: walk.id, beats })}\n`);
