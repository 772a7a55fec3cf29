import { getJson } from './api.js';
import { formatMs, h, svg } from './dom.js';
import type { GraphNode, RunGraph, RunStats, StatsRow } from './types.js';

/** More nodes than this are not drawn (the page says how many were left out). */
const MAX_NODES = 3000;
const COL_W = 260;
const ROW_H = 28;
const NODE_W = 220;
const NODE_H = 20;

function concernClass(n: GraphNode): string {
  return n.concerns.error > 0 ? ' cn-error' : n.concerns.review > 0 ? ' cn-review' : n.concerns.info > 0 ? ' cn-info' : '';
}

/**
 * Place tickets by stage, one column each; in each column after the first, tickets are ordered
 * by where their parents are (the mean row), so a child sits beside its parent and edges
 * seldom cross.
 */
function positions(g: RunGraph, nodes: GraphNode[]): { pos: Map<string, { x: number; y: number }>; rows: number } {
  const parents = new Map<string, string[]>();
  for (const e of g.edges) parents.set(e.to, [...(parents.get(e.to) ?? []), e.from]);
  const pos = new Map<string, { x: number; y: number }>();
  let rows = 1;
  g.stages.forEach((stage, col) => {
    const mean = (n: GraphNode): number => {
      const ys = (parents.get(n.id) ?? []).map((p) => pos.get(p)?.y).filter((y): y is number => y !== undefined);
      return ys.length > 0 ? ys.reduce((a, b) => a + b, 0) / ys.length : Number.MAX_SAFE_INTEGER;
    };
    const here = nodes.filter((n) => n.stage === stage).map((n) => ({ n, key: col === 0 ? 0 : mean(n) }));
    here.sort((a, b) => a.key - b.key);
    here.forEach(({ n }, row) => pos.set(n.id, { x: 10 + col * COL_W, y: 30 + row * ROW_H }));
    rows = Math.max(rows, here.length);
  });
  return { pos, rows };
}

/** The DAG as SVG: nodes coloured by state, outlined by concern level; edges as curves. */
function layout(g: RunGraph): { el: SVGElement; shown: number } {
  const nodes = g.nodes.slice(0, MAX_NODES);
  const { pos, rows } = positions(g, nodes);
  const height = 40 + rows * ROW_H;
  const width = 20 + g.stages.length * COL_W;
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, class: 'dag', width, height });
  const world = svg('g', {});
  g.stages.forEach((s, i) => world.appendChild(svg('text', { x: 10 + i * COL_W, y: 16, class: 'stage-title' }, s)));
  for (const e of g.edges) {
    const a = pos.get(e.from);
    const b = pos.get(e.to);
    if (!a || !b) continue;
    const x1 = a.x + NODE_W;
    const y1 = a.y + NODE_H / 2;
    const y2 = b.y + NODE_H / 2;
    world.appendChild(svg('path', { d: `M${x1},${y1} C${x1 + 20},${y1} ${b.x - 20},${y2} ${b.x},${y2}`, class: 'edge' }));
  }
  for (const n of nodes) {
    const p = pos.get(n.id) as { x: number; y: number };
    const a = svg('a', { href: `/run/${encodeURIComponent(g.run_id)}/ticket/${encodeURIComponent(n.id)}`, 'data-link': '' });
    a.append(svg('rect', { x: p.x, y: p.y, width: NODE_W, height: NODE_H, rx: 4, class: `node st-${n.state}${concernClass(n)}` }), svg('text', { x: p.x + 6, y: p.y + 14, class: 'node-label' }, n.id.length > 34 ? `${n.id.slice(0, 33)}…` : n.id), svg('title', {}, `${n.id} (${n.state})${n.source_refs.length ? ` refs: ${n.source_refs.join(', ')}` : ''}`));
    world.appendChild(a);
  }
  root.appendChild(world);
  zoomable(root, width, height);
  return { el: root, shown: nodes.length };
}

/** Wheel zooms around the pointer, dragging pans: the viewBox moves, nothing is redrawn. */
function zoomable(root: SVGElement, width: number, height: number): void {
  let vb = { x: 0, y: 0, w: width, h: height };
  const apply = (): void => root.setAttribute('viewBox', `${vb.x} ${vb.y} ${vb.w} ${vb.h}`);
  root.addEventListener('wheel', (ev) => {
    ev.preventDefault();
    const r = root.getBoundingClientRect();
    const k = ev.deltaY > 0 ? 1.2 : 1 / 1.2;
    const px = vb.x + ((ev.clientX - r.left) / r.width) * vb.w;
    const py = vb.y + ((ev.clientY - r.top) / r.height) * vb.h;
    vb = { x: px - (px - vb.x) * k, y: py - (py - vb.y) * k, w: vb.w * k, h: vb.h * k };
    apply();
  }, { passive: false });
  let drag: { x: number; y: number } | undefined;
  root.addEventListener('pointerdown', (ev) => (drag = { x: ev.clientX, y: ev.clientY }));
  root.addEventListener('pointerup', () => (drag = undefined));
  root.addEventListener('pointermove', (ev) => {
    if (!drag) return;
    const r = root.getBoundingClientRect();
    vb = { ...vb, x: vb.x - ((ev.clientX - drag.x) / r.width) * vb.w, y: vb.y - ((ev.clientY - drag.y) / r.height) * vb.h };
    drag = { x: ev.clientX, y: ev.clientY };
    apply();
  });
}

const COLUMNS: [string, (r: StatsRow) => string][] = [
  ['submitted', (r) => String(r.submitted)],
  ['completed', (r) => String(r.completed)],
  ['review', (r) => String(r.needs_review)],
  ['failed', (r) => String(r.failed)],
  ['input tok', (r) => String(r.input_tokens)],
  ['output tok', (r) => String(r.output_tokens)],
  ['total tok', (r) => String(r.total_tokens)],
  ['cost $', (r) => r.cost_usd.toFixed(4)],
  ['work time', (r) => formatMs(r.work_ms)],
  ['held time', (r) => formatMs(r.held_ms)],
  ['per hour', (r) => (r.completed_per_hour === null ? '—' : String(r.completed_per_hour))],
  ['reaps', (r) => String(r.reaps)],
  ['concerns e/r/i', (r) => `${r.concerns.error}/${r.concerns.review}/${r.concerns.info}`],
];

function statsTable(title: string, rows: Record<string, StatsRow>, totals?: StatsRow): HTMLElement {
  const tr = (name: string, r: StatsRow): HTMLElement => h('tr', {}, h('th', {}, name), ...COLUMNS.map(([, f]) => h('td', { class: 'num' }, f(r))));
  return h(
    'section',
    { class: 'panel' },
    h('h2', {}, title),
    h('table', { class: 'stats' }, h('thead', {}, h('tr', {}, h('th', {}, ''), ...COLUMNS.map(([t]) => h('th', {}, t)))), h('tbody', {}, ...Object.entries(rows).map(([k, r]) => tr(k, r)), totals ? tr('total', totals) : null)),
  );
}

/** The run's DAG (coloured by state, outlined by concern) and the `tq stats` tables. */
export async function graphPage(app: HTMLElement, run: string): Promise<{ refresh: () => Promise<void> }> {
  const body = h('div', { class: 'graph' });
  app.append(body);
  const refresh = async (): Promise<void> => {
    const [g, stats] = await Promise.all([getJson<RunGraph>(`/api/runs/${encodeURIComponent(run)}/graph`), getJson<RunStats>(`/api/runs/${encodeURIComponent(run)}/stats`)]);
    const { el, shown } = layout(g);
    body.replaceChildren(
      h('h1', {}, `${run}: DAG`),
      h('p', { class: 'muted' }, `${g.nodes.length} tickets, ${g.edges.length} edges${shown < g.nodes.length ? ` (first ${shown} drawn)` : ''}; wheel to zoom, drag to pan; click a ticket to open it`),
      h('div', { class: 'dag-box' }, el),
      statsTable('Per stage', stats.stages, stats.totals),
      statsTable('Per worker', stats.workers),
    );
  };
  await refresh();
  return { refresh };
}
