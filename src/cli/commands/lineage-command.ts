import { traceLineage, type LineageReport } from '../../core/views/lineage.js';
import { openRunFromArgs, table } from '../common.js';
import { str, type CommandSpec } from '../command.js';

/** How many chains the human view prints. */
const MAX_SHOWN_CHAINS = 8;

/** Refs can be long lists (a walk of 40 nodes): show the first few and a count. */
function shortRefs(refs: string[], max = 6): string {
  if (refs.length === 0) return '-';
  return refs.length <= max ? refs.join(', ') : `${refs.slice(0, max).join(', ')} (+${refs.length - max})`;
}

export function renderLineage(r: LineageReport): string {
  const self = r.nodes[r.ticket_id];
  const lines = [`lineage of ${r.ticket_id} (${self?.state ?? 'unknown'}): ${r.chains.length} chain(s) from ${r.root_ids.length} root(s)${r.truncated ? `, first ${r.chains.length} shown` : ''}`, ''];
  // Why: a popular de-duplicated key (a noun in every walk) has dozens of chains; --json has them all.
  const shown = r.chains.slice(0, MAX_SHOWN_CHAINS);
  shown.forEach((c, i) => lines.push(`chain ${i + 1}: ${c.join(' -> ')}`));
  if (r.chains.length > shown.length) lines.push(`... and ${r.chains.length - shown.length} more chain(s) (all of them with --json)`);
  const order: string[] = [];
  for (const c of shown) for (const id of c) if (!order.includes(id) && id !== r.ticket_id) order.push(id);
  // Why last: the rows read root -> ... -> ticket like the chains, whatever the number of chains.
  order.push(r.ticket_id);
  const rows = order.map((id) => {
    const n = r.nodes[id];
    if (!n) return [id, '', 'missing', '', '', ''];
    return [id, n.stage, n.state, n.worker_id ?? '-', n.key !== undefined ? JSON.stringify(n.key) : '-', shortRefs(n.source_refs)];
  });
  lines.push('', table([['TICKET', 'STAGE', 'STATE', 'WORKER', 'KEY', 'SOURCE REFS'], ...rows]));
  lines.push('', `source refs over all chains: ${shortRefs(r.all_source_refs, 20)}`);
  const missing = order.filter((id) => r.nodes[id]?.state === 'missing' || r.nodes[id]?.state === 'unknown');
  if (missing.length > 0) lines.push('', `not found in any state directory: ${missing.join(', ')} (run \`tq fsck\`)`);
  return lines.join('\n');
}

export const lineageCommand: CommandSpec = {
  command: 'lineage <run> <ticket>',
  describe: 'the chain root -> ... -> ticket, with states, workers and source refs',
  examples: [['$0 lineage gallia curate-k-hexagone-1a2b3c4d5e', 'which walks and translations asked for this noun']],
  builder: (y) => y.positional('run', { type: 'string', describe: 'run id' }).positional('ticket', { type: 'string', describe: 'ticket id' }),
  async run(args) {
    const ctx = await openRunFromArgs({ ...args, run: str(args, 'run') });
    const r = await traceLineage(ctx, str(args, 'ticket'));
    return { data: { run_id: ctx.runId, ...r }, text: renderLineage(r) };
  },
};
