import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jsonOf, runTq } from '../helpers/capture-io.js';
import { makeObservedRun } from '../helpers/observed-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';

let root: string;
beforeEach(async () => {
  root = await makeTempDir('tq-cli-stats-');
  await makeObservedRun(root);
});
afterEach(async () => {
  await removeDir(root);
});

describe('tq stats', () => {
  it('prints a stage table, a worker table with models, and the wasted tokens of refused outputs', async () => {
    const r = await runTq(root, ['stats', 'gallia']);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('run gallia: 4 submitted (4 completed, 0 review, 0 failed), 14.8k tokens, $0.14');
    expect(lines.find((l) => l.startsWith('parse '))?.split(/\s{2,}/)).toEqual(['parse', '2/3', '0', '0', '1', '2k', '800', '2.8k', '$0.02', '2m10s', '2m30s', '7.7', '3', '1', '1/1/0']);
    expect(lines.find((l) => l.startsWith('w-tr '))?.split(/\s{2,}/)).toEqual(['w-tr', 'sonnet', '2', '4k', '3k', '12k', '$0.12', '4m40s', '5m', '7.1', '2', '0', '0/0/1']);
    expect(r.stdout).toContain('late outputs refused after a lost lease: 1 (800 tokens spent on them; see rejected/)');
  });

  it('--json carries schema_version and the same figures', async () => {
    const r = await runTq(root, ['stats', 'gallia', '--json']);
    expect(r.code).toBe(0);
    const j = jsonOf(r.stdout) as { schema_version: number; stages: Record<string, { total_tokens: number }>; workers: Record<string, { reaps: number }>; totals: { cost_usd: number } };
    expect(j.schema_version).toBe(1);
    expect(j.stages.translate?.total_tokens).toBe(12_000);
    expect(j.workers['w-slow']?.reaps).toBe(1);
    expect(j.totals.cost_usd).toBe(0.14);
  });

  it('an unknown run exits 4 with a hint', async () => {
    const r = await runTq(root, ['stats', 'nope']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('no run "nope"');
  });
});
