import { buildRunGraph } from '../../core/views/run-graph.js';
import { renderDot } from '../render/graph-dot.js';
import { renderMermaid } from '../render/graph-mermaid.js';
import { openRunFromArgs } from '../common.js';
import { str, type CommandSpec } from '../command.js';

export const graphCommand: CommandSpec = {
  command: 'graph <run>',
  describe: 'the ticket DAG as Mermaid or Graphviz DOT (stages as clusters, concerns outlined)',
  examples: [
    ['$0 graph gallia --format dot | dot -Tsvg > gallia.svg', 'render with Graphviz'],
    ['$0 graph gallia --format mermaid > gallia.mmd', 'paste into a Markdown ```mermaid block'],
  ],
  builder: (y) => y.positional('run', { type: 'string', describe: 'run id' }).option('format', { choices: ['mermaid', 'dot'] as const, default: 'mermaid' as const, describe: 'output language' }),
  async run(args) {
    const ctx = await openRunFromArgs({ ...args, run: str(args, 'run') });
    const g = await buildRunGraph(ctx);
    const format = str(args, 'format');
    const text = format === 'dot' ? renderDot(g) : renderMermaid(g);
    return { data: { ...g, format, text }, text: text.trimEnd() };
  },
};
