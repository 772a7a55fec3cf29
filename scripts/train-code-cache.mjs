#!/usr/bin/env node
// Make dist/bundle/tq.cjs.cache (run by build-bundle.mjs): load the bundle without a cache, run
// the commands agents run most (create, claim, heartbeat, submit, status, list) on a scratch
// run, then save what V8 compiled.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { bundleIsCurrent, loadCli, saveCodeCache } from '../bin/load-cli.cjs';

// Why: bin/tq.js runs one-shot commands with zod's jitless parsers; train the paths they take.
globalThis.__zod_globalConfig ??= { jitless: true };
if (!bundleIsCurrent()) throw new Error('dist/bundle/tq.cjs is missing or older than dist/cli');
const { main } = await loadCli({ ignoreCache: true });
const dir = await mkdtemp(join(tmpdir(), 'tq-train-'));
try {
  const pipeline = join(dir, 'pipeline.json');
  const output = join(dir, 'output.json');
  await writeFile(pipeline, JSON.stringify({ stages: { work: {} }, cascade: [] }));
  await writeFile(output, JSON.stringify({ text: 'done' }));
  let out = '';
  const io = (stdin = '') => ({ stdout: (t) => (out += t), stderr: (t) => (out += t), stdin: Readable.from([stdin]), env: { ...process.env, TQ_DURABILITY: 'none' }, isTTY: false });
  const tq = async (args, stdin) => {
    out = '';
    const code = await main(['--root', dir, ...args], io(stdin));
    if (code !== 0) throw new Error(`tq ${args.join(' ')}: exit ${code}: ${out}`);
    return out;
  };
  await tq(['create', 'train', '--pipeline', pipeline, '--input', '-'], '{"n":1}\n{"n":2}\n');
  for (const json of [true, false]) {
    const claimed = JSON.parse(await tq(['claim', 'train', '--type', 'work', '--worker', 'w', '--json'])).ticket;
    const flags = json ? ['--json'] : [];
    await tq(['heartbeat', 'train', claimed.ticket_id, '--worker', 'w', '--token', claimed.claim.token, ...flags]);
    await tq(['submit', 'train', claimed.ticket_id, '--worker', 'w', '--output', output, '--token', claimed.claim.token, '--concern', 'info:trained', ...flags]);
    await tq(['status', 'train', ...flags]);
    await tq(['list', 'train', ...flags]);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
if (!saveCodeCache()) throw new Error('could not write the code cache');
