import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Graphviz } from '@hpcc-js/wasm-graphviz';
import { jsonOf, runTq } from '../helpers/capture-io.js';
import { makeObservedRun } from '../helpers/observed-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';

let root: string;
let graphviz: Awaited<ReturnType<typeof Graphviz.load>>;
beforeAll(async () => {
  graphviz = await Graphviz.load();
});
beforeEach(async () => {
  root = await makeTempDir('tq-cli-graph-');
  await makeObservedRun(root);
});
afterEach(async () => {
  await removeDir(root);
});

describe('tq graph', () => {
  it('--format dot prints DOT that Graphviz lays out', async () => {
    const r = await runTq(root, ['graph', 'gallia', '--format', 'dot']);
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith('digraph "run gallia" {')).toBe(true);
    expect(graphviz.dot(r.stdout, 'svg')).toContain('<title>cluster_translate</title>');
  });

  it('prints Mermaid by default, and --json wraps the text with the graph', async () => {
    const r = await runTq(root, ['graph', 'gallia']);
    expect(r.stdout.startsWith('flowchart LR\n')).toBe(true);
    const j = jsonOf((await runTq(root, ['graph', 'gallia', '--json', '--format', 'dot'])).stdout) as { schema_version: number; format: string; text: string; nodes: unknown[]; edges: unknown[] };
    expect(j).toMatchObject({ schema_version: 1, format: 'dot' });
    expect(j.nodes).toHaveLength(7);
    expect(j.edges).toHaveLength(5);
    expect(j.text).toContain('subgraph "cluster_parse"');
  });

  it('refuses an unknown format as a usage error', async () => {
    const r = await runTq(root, ['graph', 'gallia', '--format', 'png']);
    expect(r.code).toBe(2);
  });
});
