import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRun } from '../../src/core/ops/create-run.js';
import type { RunCtx } from '../../src/core/store/run-context.js';
import { ensureDistBuilt } from '../helpers/build-dist.js';
import { addItems, examplePipeline, parseItems } from '../helpers/make-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';
import { expectFsckOk } from '../helpers/ticket-files.js';
import { waitFor } from '../helpers/wait-for.js';
import { hashTree, makeSentinel, memoryMbOf, spawnDaemon, type DaemonProcess } from './daemon-test-kit.js';
import { FileOnlyAgent } from './file-only-agent.js';

/**
 * A flood of junk in requests/ (issue 12: 100,000 files made the daemon answer ~0.5 requests/s
 * and grow to ~690 MB). A smaller flood here; scripts/measure-requests-flood.mjs measures the big one.
 */
const JUNK = 20_000;
/** Generous bounds: the point is "answered at all, and not after minutes"; "not hundreds of MB". */
const ANSWER_WITHIN_MS = 30_000;
const MAX_RSS_MB = 300;
const STOP_WITHIN_MS = 10_000;
const FAST = ['--interval', '200ms', '--settle', '50ms', '--file-settle', '200ms', '--json'];

let root: string;
let ctx: RunCtx;
let sentinel: string;
let sentinelHash: string;
const started: DaemonProcess[] = [];
beforeAll(async () => {
  await ensureDistBuilt();
});
beforeEach(async () => {
  root = await makeTempDir();
  ctx = await createRun(root, 'flood', { pipeline: examplePipeline(), durability: 'none' });
  await addItems(ctx, 'parse', parseItems(3));
  sentinel = await makeSentinel(root);
  sentinelHash = await hashTree(sentinel);
});
afterEach(async () => {
  for (const p of started.splice(0)) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await removeDir(root);
});

/** A third each: names that are no request, requests that do not parse, valid requests of other workers. */
async function writeJunk(n: number): Promise<void> {
  const writes: Promise<void>[] = [];
  for (let i = 0; i < n; i += 1) {
    const [name, body] = i % 3 === 0 ? [`junk-${i}.txt`, 'x'] : i % 3 === 1 ? [`junk-${i}.json`, 'x'] : [`w${i}~1.json`, '{"stage": "curate"}'];
    writes.push(writeFile(join(ctx.paths.requests, name), body));
    if (writes.length >= 200) await Promise.all(writes.splice(0));
  }
  await Promise.all(writes);
}

/** Junk files still in requests/ (the replies the daemon wrote to junk requests are not junk). */
const isJunk = (n: string): boolean => !n.endsWith('.reply.json') && (n.startsWith('junk-') || /^w\d+~1\.json$/.test(n));
const junkLeft = async (): Promise<number> => (await readdir(ctx.paths.requests)).filter(isJunk).length;

async function serveRealRequestThroughFlood(d: DaemonProcess): Promise<void> {
  const agent = new FileOnlyAgent(ctx.paths.dir, 'real-worker', ANSWER_WITHIN_MS);
  const t0 = Date.now();
  const reply = await agent.request('parse');
  const waitedMs = Date.now() - t0;
  const mem = await memoryMbOf(d.child.pid as number);
  console.log(`requests/ flood of ${JUNK}: a real request answered in ${waitedMs} ms; daemon RSS ${mem.rss} MB (peak ${mem.peak} MB)`);
  expect(reply.status).toBe('claimed');
  expect(mem.peak).toBeLessThan(MAX_RSS_MB);
  // The flood drains: junk and excess requests go to quarantine/ in batches.
  await waitFor(async () => (await junkLeft()) === 0, 120_000, 'the flood to be drained').catch(async (err: unknown) => {
    const left = (await readdir(ctx.paths.requests)).filter(isJunk);
    const actions = new Map<string, number>();
    for (const e of d.entries()) actions.set(e.action, (actions.get(e.action) ?? 0) + 1);
    console.log(`left: ${left.length}, e.g. ${left.slice(0, 5).join(' ')}; log actions: ${JSON.stringify([...actions])}; last: ${JSON.stringify(d.entries().slice(-5))}`);
    throw err;
  });
  const after = await memoryMbOf(d.child.pid as number);
  expect(after.peak).toBeLessThan(MAX_RSS_MB);
  const q = await readdir(ctx.paths.quarantine);
  expect(q.some((n) => n.startsWith('requests~') && n.endsWith('.why.json'))).toBe(true);
  // And the daemon still serves the agent: its result is accepted.
  expect(await agent.submit(String(reply.ticket_id), { output_data: { beats: ['ok'] } })).toEqual({ accepted: true });
  const stopAsked = Date.now();
  d.child.kill('SIGTERM');
  expect(await d.exit).toEqual({ code: 0, signal: null });
  expect(Date.now() - stopAsked).toBeLessThan(STOP_WITHIN_MS);
  expect(await hashTree(sentinel)).toBe(sentinelHash);
  await expectFsckOk(ctx);
}

describe('tq daemon: a flood of junk in requests/', () => {
  it(`written before it starts (${JUNK} files): a real request is still answered promptly; memory stays flat; the flood drains`, async () => {
    await writeJunk(JUNK);
    const d = spawnDaemon(root, ['flood', ...FAST]);
    started.push(d);
    // Why not wait for 'ready': the request may then come before the watcher of requests/ and
    // make no event; the scan must still answer it first (it is the newest request).
    await waitFor(() => d.entries().some((e) => e.action === 'started'), 60_000, 'the daemon to start');
    await serveRealRequestThroughFlood(d);
  });

  it(`written while it runs (${JUNK} files, each an event): the same`, async () => {
    const d = spawnDaemon(root, ['flood', ...FAST]);
    started.push(d);
    await waitFor(() => d.entries().some((e) => e.action === 'ready'), 30_000, 'the daemon to be ready');
    await writeJunk(JUNK);
    await serveRealRequestThroughFlood(d);
  });
});
