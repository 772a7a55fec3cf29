import { lstat, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDistBuilt } from '../helpers/build-dist.js';
import { paced } from '../helpers/machine-pace.js';
import { runBin } from '../helpers/run-bin.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';

/**
 * `tq demo --fast` with its give-up time paced to the machine. Why: the demo's own default (120 s)
 * is a fixed deadline; the fast corpus takes under 10 s on an idle machine.
 */
async function runFastDemo(extra: string[] = []): Promise<Awaited<ReturnType<typeof runBin>>> {
  const seconds = Math.ceil((await paced(60_000)) / 1000);
  return runBin(root, ['demo', '--fast', '--timeout', String(seconds), ...extra]);
}

let root: string;
beforeAll(async () => {
  await ensureDistBuilt();
  // Why not 'tq-demo-': that is the prefix of the files the demo once left in the temp directory.
  root = await makeTempDir('tq-demotest-');
});
afterAll(async () => {
  await removeDir(root);
});

/** `tq-demo-*` files in the temp directory (what the demo's CLI agents once left behind). */
async function demoTempFiles(): Promise<string[]> {
  return (await readdir(tmpdir())).filter((n) => n.startsWith('tq-demo-'));
}

/** Every ticket id a run ever had (its registry). */
async function ticketIdsOf(runDir: string): Promise<string[]> {
  const ids: string[] = [];
  for (const stage of await readdir(join(runDir, 'registry'))) ids.push(...(await readdir(join(runDir, 'registry', stage))).map((n) => n.replace(/\.json$/, '')));
  return ids;
}

/** Files under `dir` (relative) whose content contains `needle`: `grep -rl`. */
async function grepRl(dir: string, needle: string, rel = ''): Promise<string[]> {
  const hits: string[] = [];
  for (const name of await readdir(join(dir, rel))) {
    const p = join(rel, name);
    const st = await lstat(join(dir, p));
    if (st.isDirectory()) hits.push(...(await grepRl(dir, needle, p)));
    else if (st.isFile() && (await readFile(join(dir, p), 'utf8')).includes(needle)) hits.push(p);
  }
  return hits;
}

describe('tq demo --fast (the README main command, small corpus)', () => {
  it('runs the whole pipeline with a daemon, tq work and file-only agents, and recovers the dead agent\'s ticket', async () => {
    const before = new Set(await demoTempFiles());
    const r = await runFastDemo();
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const out = r.stdout;
    // The summary line, exactly as the README shows it.
    expect(out).toMatch(/^done in [\d.]+s: parse 12\/12, translate 12\/12, curate 3\/3$/m);
    expect(out).toMatch(/^reaper recovered parse-\S+ from doomed-agent \(it died holding the claim\)$/m);
    expect(out).toMatch(/^concerns: \d+ error, \d+ review, \d+ info$/m);
    expect(out).toMatch(/^fsck: ok$/m);
    expect(out).toMatch(/workers: `tq work` on each stage \(parse, translate, curate\), 2 at a time, running `node demo-agent\.js` per ticket; 2 agents using only read\/write\/list of files/);
    // Each stage's `tq work` printed its summary when the demo stopped it.
    const workDone = [...out.matchAll(/^ {2}worker tq-work-(\w+) on \S+: done (\d+), failed 0, retried 0, lease lost 0, released 0$/gm)];
    expect(workDone.map((m) => m[1])).toEqual(['parse', 'translate', 'curate']);
    // Why not a median for each: the file-only agents may take all 3 curate tickets first.
    expect(out.match(/^ {2}command time: (median \S+, p95 \S+ over \d+ attempt\(s\)|no attempt ran)$/gm)).toHaveLength(3);
    expect(Number(workDone[0]?.[2]) + Number(workDone[1]?.[2]), 'tq work did parse and translate tickets').toBeGreaterThan(0);
    const runId = /run (gallia-demo-\S+):/.exec(out)?.[1];
    expect(runId).toBeDefined();
    const curated = await readdir(join(root, String(runId), 'completed', 'curate'));
    expect(curated.sort()).toEqual(expect.arrayContaining([expect.stringMatching(/^curate-k-barrage-/), expect.stringMatching(/^curate-k-hexagone-/), expect.stringMatching(/^curate-k-la_legion-/)]));
    // Nothing of this run was left in the temp directory. Why by ticket id: other processes
    // on the machine (an older demo) may write tq-demo-* files meanwhile.
    const ids = await ticketIdsOf(join(root, String(runId)));
    expect(ids.length).toBeGreaterThan(20);
    const leftovers = (await demoTempFiles()).filter((n) => !before.has(n) && ids.some((id) => n.includes(id)));
    expect(leftovers).toEqual([]);
    // The run names no path of this machine (daemon replies, agents' error files, AGENTS.md ...):
    // it can be committed and cloned anywhere.
    expect(await grepRl(join(root, String(runId)), root)).toEqual([]);
  });

  it('--json gives the same figures as one JSON object', async () => {
    const r = await runFastDemo(['--json']);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const data = JSON.parse(r.stdout.trim()) as { summary: string; done: boolean; fsck_ok: boolean; reaped: unknown[]; stages: Record<string, { completed: number; total: number }> };
    expect(data.summary).toBe('parse 12/12, translate 12/12, curate 3/3');
    expect(data.done).toBe(true);
    expect(data.fsck_ok).toBe(true);
    expect(data.reaped).toHaveLength(1);
    expect((data as unknown as { work_summaries: string[] }).work_summaries).toHaveLength(6);
  });
});
