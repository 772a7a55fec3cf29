/**
 * Huge and endless files given to the CLI (--input, --output) end with a clear INVALID_INPUT
 * naming the file and the limit, in bounded memory, in real processes: a crash here was an
 * uncaught RangeError with a stack trace after ~640 MB.
 */
import { existsSync } from 'node:fs';
import { readFile, readdir, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ensureDistBuilt } from '../helpers/build-dist.js';
import { runBin, spawnCollect, type BinResult } from '../helpers/run-bin.js';
import { EXAMPLE_PIPELINE_FILE } from '../helpers/make-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';

const TIME = '/usr/bin/time';
/** Far above what a bounded read needs (~80 MB measured), far below what the unbounded one took. */
const MAX_RSS_KB = 300 * 1024;
const HAS_DEV_ZERO = existsSync('/dev/zero');

let dir: string;
let root: string;
beforeAll(async () => {
  await ensureDistBuilt();
  dir = await makeTempDir('tq-bounded-');
  root = join(dir, 'runs');
  const created = await runBin(root, ['create', 'b', '--pipeline', EXAMPLE_PIPELINE_FILE, '--input', '-'], { stdin: '{"id":"0x1"}\n{"id":"0x2"}\n' });
  expect(created.code, created.stderr).toBe(0);
});
afterAll(async () => {
  await removeDir(dir);
});

/**
 * `node --max-old-space-size=128 bin/tq.js --root ROOT ...args`: a read that is not bounded dies
 * of OOM there. Under /usr/bin/time when the machine has it, to check the peak RSS as well
 * (buffers live outside V8's heap).
 */
async function runSmallHeap(args: string[]): Promise<BinResult & { rssKb: number | undefined }> {
  const node = [process.execPath, '--max-old-space-size=128', BIN, '--root', root, ...args];
  const env = { TQ_DURABILITY: 'none' };
  if (!existsSync(TIME)) return { ...(await spawnCollect(node[0] as string, node.slice(1), { env })), rssKb: undefined };
  const rssFile = join(dir, `rss-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  const r = await spawnCollect(TIME, ['-f', '%M', '-o', rssFile, ...node], { env });
  const rssKb = Number((await readFile(rssFile, 'utf8')).trim().split('\n').pop());
  return { ...r, rssKb: Number.isFinite(rssKb) ? rssKb : undefined };
}

function expectCleanRefusal(r: BinResult & { rssKb: number | undefined }, message: RegExp): void {
  expect(r.signal).toBeNull();
  expect(r.stderr).not.toMatch(/heap out of memory|RangeError|Invalid string length|\n\s+at /);
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toMatch(message);
  if (r.rssKb !== undefined) expect(r.rssKb).toBeLessThan(MAX_RSS_KB);
}

async function pendingCount(): Promise<number> {
  return (await readdir(join(root, 'b', 'pending', 'parse'))).length;
}

describe('--input', () => {
  it.skipIf(!HAS_DEV_ZERO)('`tq add --input /dev/zero` stops at the 16 MB line limit with INVALID_INPUT, in bounded memory', async () => {
    const before = await pendingCount();
    const r = await runSmallHeap(['add', 'b', '--type', 'parse', '--input', '/dev/zero']);
    expectCleanRefusal(r, /^tq: \/dev\/zero:1: line over the 16 MB limit for one work item/);
    expect(await pendingCount()).toBe(before);
  }, 60_000);

  it.skipIf(!HAS_DEV_ZERO)('--json gives the documented code and the file', async () => {
    const r = await runBin(root, ['add', 'b', '--type', 'parse', '--input', '/dev/zero', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stderr)).toMatchObject({ error: { code: 'INVALID_INPUT', file: '/dev/zero' } });
  });

  it('a 1 GB JSON document (sparse) stops at the 128 MB document limit', async () => {
    const file = join(dir, 'huge.json');
    await writeFile(file, '[');
    await truncate(file, 1024 ** 3);
    const r = await runSmallHeap(['add', 'b', '--type', 'parse', '--input', file]);
    expect(r.signal).toBeNull();
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/huge\.json: JSON document over the 128 MB limit for an input read whole/);
    expect(r.stderr).not.toMatch(/heap out of memory|RangeError|\n\s+at /);
  });

  it('`--input -` and `--input /dev/stdin` still read a pipe', async () => {
    const before = await pendingCount();
    for (const source of ['-', '/dev/stdin']) {
      const r = await runBin(root, ['add', 'b', '--type', 'parse', '--input', source], { stdin: `{"id":"0x${source.length}a"}\n` });
      expect(r.code, r.stderr).toBe(0);
    }
    // A real shell pipe, as a user types it.
    const sh = await spawnCollect('sh', ['-c', `printf '{"id":"0x3a"}\\n' | "${process.execPath}" "${BIN}" --root "${root}" add b --type parse --input /dev/stdin`], { env: { TQ_DURABILITY: 'none' } });
    expect(sh.code, sh.stderr).toBe(0);
    expect(await pendingCount()).toBe(before + 3);
  });
});

describe('--output of submit', () => {
  let held: string;
  beforeAll(async () => {
    const c = await runBin(root, ['claim', 'b', '--type', 'parse', '--worker', 'w1', '--json']);
    expect(c.code, c.stderr).toBe(0);
    held = (JSON.parse(c.stdout) as { ticket: { ticket_id: string } }).ticket.ticket_id;
  });

  it('a 1 GB file (sparse) is refused from its size with the 16 MB limit, and the claim stays', async () => {
    const file = join(dir, 'out-1g.json');
    await writeFile(file, '');
    await truncate(file, 1024 ** 3);
    const r = await runSmallHeap(['submit', 'b', held, '--worker', 'w1', '--output', file]);
    expectCleanRefusal(r, /out-1g\.json: 1024\.0 MB is over the 16 MB limit for one ticket's data/);
    expect(existsSync(join(root, 'b', 'claimed', 'w1', `${held}.json`))).toBe(true);
  });

  it.skipIf(!HAS_DEV_ZERO)('/dev/zero stops after the limit with INVALID_INPUT', async () => {
    const r = await runSmallHeap(['submit', 'b', held, '--worker', 'w1', '--output', '/dev/zero']);
    expectCleanRefusal(r, /\/dev\/zero: more than 16 MB \(reading stopped there\) is over the 16 MB limit/);
    expect(existsSync(join(root, 'b', 'claimed', 'w1', `${held}.json`))).toBe(true);
  }, 60_000);

  it('an output over the limit on stdin is refused too', async () => {
    const r = await runBin(root, ['submit', 'b', held, '--worker', 'w1', '--output', '-', '--json'], { stdin: `{"x":"${'y'.repeat(17 * 1024 * 1024)}"}` });
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stderr)).toMatchObject({ error: { code: 'INVALID_INPUT', file: '<stdin>' } });
  });

  it('an output within the limit still goes in', async () => {
    const file = join(dir, 'out-ok.json');
    await writeFile(file, '{"text":"fine"}');
    const r = await runBin(root, ['submit', 'b', held, '--worker', 'w1', '--output', file]);
    expect(r.code, r.stderr).toBe(0);
  });
});
