import { CONCERN_STROKE, STATE_FILL, concernMarks } from './graph-colors.js';
import type { RunGraph } from '../../core/views/run-graph.js';
import { shortLabel } from './graph-labels.js';

/** A DOT double-quoted string: backslash and quote escaped, newlines as DOT's \n. */
function q(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/**
 * Graphviz DOT: one cluster per stage, nodes filled by state, outlined red/orange for concerns,
 * labelled by stage and source ref with the ticket id as tooltip (an SVG's hover text).
 */
export function renderDot(g: RunGraph): string {
  const out = [
    `digraph ${q(`run ${g.run_id}`)} {`,
    `  graph [rankdir=LR, fontname="Helvetica", label=${q(`run ${g.run_id}`)}, labelloc=t];`,
    '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10, color="#666666"];',
    '  edge [color="#888888"];',
  ];
  for (const stage of g.stages) {
    const nodes = g.nodes.filter((n) => n.stage === stage);
    if (nodes.length === 0) continue;
    out.push(`  subgraph ${q(`cluster_${stage}`)} {`, `    label=${q(stage)};`, '    style=rounded;', '    color="#bbbbbb";');
    for (const n of nodes) {
      const label = [shortLabel(n), n.state, ...concernMarks(n.concerns)].join('\n');
      const attrs = [`label=${q(label)}`, `tooltip=${q(n.id)}`, `fillcolor=${q(STATE_FILL[n.state] ?? '#ffffff')}`];
      if (n.concerns.error > 0) attrs.push(`color=${q(CONCERN_STROKE.error)}`, 'penwidth=2.5');
      else if (n.concerns.review > 0) attrs.push(`color=${q(CONCERN_STROKE.review)}`, 'penwidth=2.5');
      if (n.state === 'unknown') attrs.push('style="rounded,dashed"');
      out.push(`    ${q(n.id)} [${attrs.join(', ')}];`);
    }
    out.push('  }');
  }
  for (const e of g.edges) out.push(`  ${q(e.from)} -> ${q(e.to)};`);
  out.push('}');
  return `${out.join('\n')}\n`;
}
