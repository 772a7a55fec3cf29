import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jsonOf, runTq } from '../helpers/capture-io.js';
import { makeObservedRun, type ObservedRun } from '../helpers/observed-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';

let root: string;
let run: ObservedRun;
beforeEach(async () => {
  root = await makeTempDir('tq-cli-lineage-');
  run = await makeObservedRun(root);
});
afterEach(async () => {
  await removeDir(root);
});

describe('tq lineage', () => {
  it('shows each chain root -> ticket and every ancestor with its refs', async () => {
    const r = await runTq(root, ['lineage', 'gallia', run.curateHexagone]);
    expect(r.code).toBe(0);
    const [p0, p1] = run.parse;
    const [t0, t1] = run.translate;
    expect(r.stdout).toContain(`lineage of ${run.curateHexagone} (claimed): 2 chain(s) from 2 root(s)`);
    expect(r.stdout).toContain(`${p0} -> ${t0} -> ${run.curateHexagone}`);
    expect(r.stdout).toContain(`${p1} -> ${t1} -> ${run.curateHexagone}`);
    expect(r.stdout).toMatch(new RegExp(`${p0}\\s+parse\\s+completed\\s+w-parse\\s+-\\s+walk-1, 0x01, 0x02`));
    expect(r.stdout).toContain('source refs over all chains: walk-1, 0x01, 0x02, walk-2, 0x03');
  });

  it('the table ends with the ticket itself, after the ancestors of every chain', async () => {
    const r = await runTq(root, ['lineage', 'gallia', run.curateHexagone]);
    const lines = r.stdout.split('\n');
    const rows = lines.slice(lines.findIndex((l) => l.startsWith('TICKET')) + 1, lines.findIndex((l) => l.startsWith('source refs over all chains')) - 1);
    expect(rows.map((l) => l.split(/\s+/)[0])).toEqual([run.parse[0], run.translate[0], run.parse[1], run.translate[1], run.curateHexagone]);
  });

  it('--json gives chains, roots and nodes; a pasted ".json" suffix is forgiven', async () => {
    const r = await runTq(root, ['lineage', 'gallia', `${run.translate[0]}.json`, '--json']);
    const j = jsonOf(r.stdout) as { schema_version: number; chains: string[][]; root_ids: string[]; nodes: Record<string, { state: string }> };
    expect(j.schema_version).toBe(1);
    expect(j.chains).toEqual([[run.parse[0], run.translate[0]]]);
    expect(j.root_ids).toEqual([run.parse[0]]);
    expect(j.nodes[run.translate[0]]?.state).toBe('completed');
  });

  it('an unknown ticket exits 4', async () => {
    const r = await runTq(root, ['lineage', 'gallia', 'parse-nope-1']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('no ticket "parse-nope-1"');
  });
});
