import { CONCERN_STROKE, STATE_FILL, concernMarks } from './graph-colors.js';
import type { RunGraph } from '../../core/views/run-graph.js';
import { shortLabel } from './graph-labels.js';

/** Text inside a Mermaid ["..."] label: quotes and angle brackets as entity codes. */
function label(text: string): string {
  return text.replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;');
}

/**
 * A Mermaid flowchart: one subgraph per stage, nodes classed by state and by worst concern,
 * labelled by stage and source ref with the ticket id as tooltip.
 * Node ids are n0, n1, ... because ticket ids may be Mermaid keywords ("end") or hold "--".
 */
export function renderMermaid(g: RunGraph): string {
  const idOf = new Map(g.nodes.map((n, i) => [n.id, `n${i}`]));
  const out = ['flowchart LR'];
  for (const stage of g.stages) {
    const nodes = g.nodes.filter((n) => n.stage === stage);
    if (nodes.length === 0) continue;
    out.push(`  subgraph stage_${stage}["${label(stage)}"]`, '    direction TB');
    // Why: escape each line, then join with <br/> (Mermaid's line break) so the break is not escaped too.
    for (const n of nodes) out.push(`    ${idOf.get(n.id)}["${[shortLabel(n), n.state, ...concernMarks(n.concerns)].map(label).join('<br/>')}"]`);
    out.push('  end');
  }
  for (const e of g.edges) out.push(`  ${idOf.get(e.from)} --> ${idOf.get(e.to)}`);
  // Why a click statement: it is Mermaid's only way to give a node a tooltip (here the full
  // ticket id). tqTicket is defined nowhere, so a click does nothing.
  for (const n of g.nodes) out.push(`  click ${idOf.get(n.id)} tqTicket "${label(n.id)}"`);
  const classes = new Map<string, string[]>();
  const tag = (cls: string, id: string): void => {
    classes.set(cls, [...(classes.get(cls) ?? []), id]);
  };
  for (const n of g.nodes) {
    const id = idOf.get(n.id) as string;
    tag(`state_${n.state}`, id);
    if (n.concerns.error > 0) tag('concern_error', id);
    else if (n.concerns.review > 0) tag('concern_review', id);
  }
  for (const [state, fill] of Object.entries(STATE_FILL)) out.push(`  classDef state_${state} fill:${fill},stroke:#666666`);
  out.push(`  classDef concern_review stroke:${CONCERN_STROKE.review},stroke-width:3px`, `  classDef concern_error stroke:${CONCERN_STROKE.error},stroke-width:3px`);
  for (const [cls, ids] of classes) out.push(`  class ${ids.join(',')} ${cls}`);
  return `${out.join('\n')}\n`;
}
