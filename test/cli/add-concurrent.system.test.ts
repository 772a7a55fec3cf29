import { execFileSync } from 'node:child_process';
import { open, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDistBuilt } from '../helpers/build-dist.js';
import { runBin } from '../helpers/run-bin.js';
import { EXAMPLE_PIPELINE_FILE } from '../helpers/make-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';

/** Items with an id, and items without one (keyed by their content). */
const ITEMS = 400;
/** Lines written to each process's input in turn. */
const CHUNK = 10;

let dir: string;
let root: string;
let input: string;
const lines = Array.from({ length: ITEMS }, (_, n) => JSON.stringify(n % 2 === 0 ? { id: `item-${n}`, n } : { n, text: `no id ${n}` }));
beforeAll(async () => {
  await ensureDistBuilt();
  dir = await makeTempDir('tq-add-race-');
  root = join(dir, 'runs');
  input = join(dir, 'items.jsonl');
  await writeFile(input, `${lines.join('\n')}\n`);
});
afterAll(async () => {
  await removeDir(dir);
});

/** The `n` of every pending parse ticket's input. */
async function pendingItems(run: string): Promise<number[]> {
  const pending = join(root, run, 'pending', 'parse');
  const names = await readdir(pending);
  return Promise.all(names.map(async (name) => Number((JSON.parse(await readFile(join(pending, name), 'utf8')) as { input_data: { n: number } }).input_data.n)));
}

describe('two `tq add` processes with the same file at once', () => {
  it('add each item exactly once between them; --allow-duplicates then adds them all again', async () => {
    const created = await runBin(root, ['create', 'race', '--pipeline', EXAMPLE_PIPELINE_FILE]);
    expect(created.code, created.stderr).toBe(0);
    // Why FIFOs: opening one for writing waits until its `tq add` has opened it for reading, so
    // both get the same lines at the same moment, a chunk each in turn, and really add at once.
    const fifos = [join(dir, 'a.jsonl'), join(dir, 'b.jsonl')];
    for (const f of fifos) execFileSync('mkfifo', [f]);
    const adds = fifos.map((f) => runBin(root, ['add', 'race', '--input', f, '--json']));
    const writers = await Promise.all(fifos.map((f) => open(f, 'w')));
    for (let i = 0; i < ITEMS; i += CHUNK) {
      for (const w of writers) await w.write(`${lines.slice(i, i + CHUNK).join('\n')}\n`);
    }
    await Promise.all(writers.map((w) => w.close()));
    const [a, b] = (await Promise.all(adds)) as [Awaited<(typeof adds)[0]>, Awaited<(typeof adds)[0]>];
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const ra = JSON.parse(a.stdout) as { created: number; existing: number };
    const rb = JSON.parse(b.stdout) as { created: number; existing: number };
    // Every item was added by one of them and found present by the other.
    console.log(`two concurrent adds of ${ITEMS} items: ${ra.created} + ${rb.created} created`);
    expect(ra.created + rb.created).toBe(ITEMS);
    expect(ra.existing + rb.existing).toBe(ITEMS);
    const items = await pendingItems('race');
    expect(items).toHaveLength(ITEMS);
    expect(new Set(items).size).toBe(ITEMS);
    const fsck = await runBin(root, ['fsck', 'race']);
    expect(fsck.code, fsck.stdout).toBe(0);

    const forced = await runBin(root, ['add', 'race', '--input', input, '--allow-duplicates', '--json']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(JSON.parse(forced.stdout)).toMatchObject({ created: ITEMS, existing: 0 });
    expect(await pendingItems('race')).toHaveLength(2 * ITEMS);
  });
});
