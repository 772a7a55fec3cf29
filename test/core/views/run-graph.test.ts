import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Graphviz } from '@hpcc-js/wasm-graphviz';
import { buildRunGraph } from '../../../src/core/views/run-graph.js';
import { renderDot } from '../../../src/cli/render/graph-dot.js';
import { renderMermaid } from '../../../src/cli/render/graph-mermaid.js';
import { makeObservedRun, type ObservedRun } from '../../helpers/observed-run.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';

type MermaidParse = (text: string) => Promise<unknown>;

/**
 * Mermaid's real flowchart parser, in Node without a browser. Why the stub: mermaid.parse()
 * registers DOMPurify hooks (for rendering), and DOMPurify without a DOM has no addHook; the
 * parser itself needs none of it.
 */
async function loadMermaidParse(): Promise<MermaidParse> {
  const purify = (await import('dompurify')).default as unknown as Record<string, unknown>;
  purify.addHook = () => undefined;
  purify.removeHook = () => undefined;
  purify.removeAllHooks = () => undefined;
  purify.sanitize = (s: unknown) => String(s);
  const mermaid = (await import('mermaid')).default;
  return (text) => mermaid.parse(text);
}

let root: string;
let run: ObservedRun;
let graphviz: Awaited<ReturnType<typeof Graphviz.load>>;
let mermaidParse: MermaidParse;

beforeAll(async () => {
  graphviz = await Graphviz.load();
  mermaidParse = await loadMermaidParse();
});
beforeEach(async () => {
  root = await makeTempDir('tq-graph-');
  run = await makeObservedRun(root);
});
afterEach(async () => {
  await removeDir(root);
});

describe('buildRunGraph', () => {
  it('has every ticket and every cascade edge, including the second parent of a de-duplicated child', async () => {
    const g = await buildRunGraph(run.ctx);
    const [p0, p1, p2] = run.parse;
    const [t0, t1] = run.translate;
    expect(g.stages).toEqual(['parse', 'translate', 'curate']);
    expect(g.nodes.map((n) => n.id).sort()).toEqual([p0, p1, p2, t0, t1, run.curateHexagone, run.curateLutece].sort());
    expect(g.edges).toEqual(
      expect.arrayContaining([
        { from: p0, to: t0 },
        { from: p1, to: t1 },
        { from: t0, to: run.curateHexagone },
        { from: t1, to: run.curateHexagone },
        { from: t1, to: run.curateLutece },
      ]),
    );
    expect(g.edges).toHaveLength(5);
    expect(g.nodes.find((n) => n.id === p1)?.concerns).toEqual({ info: 0, review: 1, error: 0 });
    expect(g.nodes.find((n) => n.id === t1)?.concerns.error).toBe(1);
  });
});

describe('renderDot', () => {
  it('is valid DOT for Graphviz, with one cluster per stage and concerns outlined', async () => {
    const dot = renderDot(await buildRunGraph(run.ctx));
    const svg = graphviz.dot(dot, 'svg');
    expect(svg).toContain('<svg');
    for (const stage of ['cluster_parse', 'cluster_translate', 'cluster_curate']) expect(svg).toContain(`<title>${stage}</title>`);
    // 5 edges drawn
    expect(svg.match(/class="edge"/g)).toHaveLength(5);
    // the error concern is outlined red, the review one orange, and marked in the label
    expect(svg).toContain('stroke="#d00000"');
    expect(svg).toContain('stroke="#e69500"');
    expect(svg).toContain('⚠ 1 review');
    expect(svg).toContain('✖ 1 error');
    // short labels; the ticket id is each node's tooltip
    expect(svg).toContain('>parse walk&#45;2 +1<');
    const svgId = run.parse[1].replace(/-/g, '&#45;');
    expect(svg).toContain(`xlink:title="${svgId}"`);
    expect(svg).not.toMatch(new RegExp(`<text[^>]*>${svgId}</text>`));
  });

  it('the Graphviz check can fail: a broken graph is refused', () => {
    expect(() => graphviz.dot('digraph { "a" -> }', 'svg')).toThrow(/syntax error/);
  });
});

describe('renderMermaid', () => {
  it('is a flowchart the real Mermaid parser accepts, with subgraphs per stage and concern classes', async () => {
    const text = renderMermaid(await buildRunGraph(run.ctx));
    await expect(mermaidParse(text)).resolves.toMatchObject({ diagramType: 'flowchart-v2' });
    expect(text.startsWith('flowchart LR\n')).toBe(true);
    expect(text).toContain('subgraph stage_parse["parse"]');
    expect(text.match(/ --> /g)).toHaveLength(5);
    expect(text).toMatch(/class n\d+ concern_error/);
    expect(text).toMatch(/class n\d+ concern_review/);
    expect(text).not.toContain('#lt;');
  });

  it('labels a node by stage and source ref (or key), with the full ticket id as its tooltip', async () => {
    const text = renderMermaid(await buildRunGraph(run.ctx));
    const node = /(n\d+)\["parse walk-2 \+1<br\/>completed<br\/>⚠ 1 review"\]/.exec(text)?.[1];
    expect(node, text).toBeDefined();
    expect(text).toContain(`  click ${node} tqTicket "${run.parse[1]}"`);
    expect(text).toMatch(/n\d+\["curate Hexagone<br\/>claimed"\]/);
    expect(text).not.toContain(`["${run.parse[1]}`);
    expect(text.match(/^ {2}click /gm)).toHaveLength(7);
  });

  it('the Mermaid check can fail: a broken flowchart is refused', async () => {
    await expect(mermaidParse('flowchart LR\n  subgraph s\n  a -->\n')).rejects.toThrow(/Parse error/);
  });

  it('never uses a stage name or ticket id as a Mermaid id (a stage called "end" would break the chart)', async () => {
    const { makeRun, addItems } = await import('../../helpers/make-run.js');
    const r = await makeRun(root, 'quotes', { stages: { end: {} } });
    await addItems(r.ctx, 'end', [{ x: 1 }]);
    const text = renderMermaid(await buildRunGraph(r.ctx));
    await expect(mermaidParse(text)).resolves.toBeTruthy();
    expect(graphviz.dot(renderDot(await buildRunGraph(r.ctx)), 'svg')).toContain('cluster_end');
  });

  it('an empty run still gives a chart both parsers accept', async () => {
    const { makeRun } = await import('../../helpers/make-run.js');
    const r = await makeRun(root, 'empty');
    const g = await buildRunGraph(r.ctx);
    expect(g.nodes).toEqual([]);
    await expect(mermaidParse(renderMermaid(g))).resolves.toBeTruthy();
    expect(graphviz.dot(renderDot(g), 'svg')).toContain('<svg');
  });
});
