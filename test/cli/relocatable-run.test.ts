import { cp, lstat, mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXAMPLE_PIPELINE_FILE } from '../helpers/make-run.js';
import { jsonOf, runTq } from '../helpers/capture-io.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';

let base: string;
beforeEach(async () => {
  base = await makeTempDir('tq-relocate-');
});
afterEach(async () => {
  await removeDir(base);
});

/** Every regular file under `dir` (relative paths) whose content contains `needle`: `grep -rl`. */
async function grepRl(dir: string, needle: string, rel = ''): Promise<string[]> {
  const hits: string[] = [];
  for (const name of await readdir(join(dir, rel))) {
    const p = join(rel, name);
    const st = await lstat(join(dir, p));
    if (st.isDirectory()) hits.push(...(await grepRl(dir, needle, p)));
    else if (st.isFile() && (await readFile(join(dir, p), 'utf8')).includes(needle)) hits.push(p);
  }
  return hits.sort();
}

async function ok(root: string, argv: string[], stdin = ''): Promise<string> {
  const r = await runTq(root, argv, stdin);
  expect(r.code, `tq ${argv.join(' ')}\n${r.stdout}${r.stderr}`).toBe(0);
  return r.stdout;
}

/** Claim one ticket of `stage` as `worker` and submit `output` for it; returns its id. */
async function claimAndSubmit(root: string, stage: string, worker: string, output: object): Promise<string> {
  const claim = jsonOf(await ok(root, ['claim', 'r1', '--type', stage, '--worker', worker, '--json'])) as { ticket: { ticket_id: string } };
  await ok(root, ['submit', 'r1', claim.ticket.ticket_id, '--worker', worker, '--output', '-'], JSON.stringify(output));
  return claim.ticket.ticket_id;
}

describe('a run holds no path of the machine that made it', () => {
  it('after create, add, claim, submit, a refused late submit and a quarantine, no file names the old location; moved or copied, the run still works', async () => {
    const root = join(base, 'runs');
    const data = join(base, 'data');
    await mkdir(data);
    await writeFile(join(data, 'walks.jsonl'), '{"id":"walk-1","text":"a"}\n{"id":"walk-2","text":"b"}\n');
    await writeFile(join(data, 'more.jsonl'), '{"id":"walk-3","text":"c"}\n');
    await ok(root, ['create', 'r1', '--pipeline', EXAMPLE_PIPELINE_FILE, '--input', join(data, 'walks.jsonl')]);
    await ok(root, ['add', 'r1', '--input', join(data, 'more.jsonl')]);
    await claimAndSubmit(root, 'parse', 'w1', { walk_id: 'walk', beats: [] });
    // A late submit after a release: refused, its output kept in rejected/ with the reason.
    const held = jsonOf(await ok(root, ['claim', 'r1', '--type', 'parse', '--worker', 'w2', '--json'])) as { ticket: { ticket_id: string } };
    await ok(root, ['release', 'r1', held.ticket.ticket_id, '--worker', 'w2']);
    expect((await runTq(root, ['submit', 'r1', held.ticket.ticket_id, '--worker', 'w2', '--output', '-'], '{"late":true}')).code).toBe(5);
    // A pending ticket spoiled in place: quarantined with a .why.json, restored from its birth record.
    const [spoiled] = (await readdir(join(root, 'r1', 'pending', 'parse'))) as [string];
    await writeFile(join(root, 'r1', 'pending', 'parse', spoiled), 'garbage');
    await ok(root, ['fsck', 'r1', '--repair', '--settle', '0']);
    expect(await readdir(join(root, 'r1', 'quarantine'))).toHaveLength(2);
    expect(await readdir(join(root, 'r1', 'rejected'))).toHaveLength(1);

    expect(await grepRl(join(root, 'r1'), base)).toEqual([]);
    const batches = await readdir(join(root, 'r1', 'inputs'));
    const sources = await Promise.all(batches.map(async (b) => (JSON.parse(await readFile(join(root, 'r1', 'inputs', b), 'utf8')) as { source: string }).source));
    expect(sources.sort()).toEqual(['more.jsonl', 'walks.jsonl']);
    expect(await readFile(join(root, 'r1', 'AGENTS.md'), 'utf8')).toContain('All paths below are relative to this run directory');

    // Moved to another root, and copied to a third: each works where it is.
    const moved = join(base, 'elsewhere');
    await mkdir(moved);
    await rename(join(root, 'r1'), join(moved, 'r1'));
    const copied = join(base, 'copy');
    await cp(join(moved, 'r1'), join(copied, 'r1'), { recursive: true });
    for (const where of [moved, copied]) {
      await ok(where, ['fsck', 'r1']);
      await claimAndSubmit(where, 'translate', 'w3', { text: 'ok' });
      await ok(where, ['fsck', 'r1']);
      expect(await grepRl(join(where, 'r1'), root)).toEqual([]);
    }
  });
});
