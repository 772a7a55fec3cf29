import { TqError } from '../../core/model/errors.js';
import { didYouMean } from '../../core/model/closest-name.js';
import { agentSchemas } from '../../core/ops/agent-docs.js';
import { openRun } from '../../core/store/run-context.js';
import { schemaNameOfFileName } from '../../core/store/run-names.js';
import type { Pipeline } from '../../core/model/pipeline.js';
import { optStr, type CommandSpec } from '../command.js';

export const schemaCommand: CommandSpec = {
  command: 'schema [name]',
  describe: 'print a JSON Schema: ticket, request, reply, result, or <stage>.input / <stage>.output with --run',
  examples: [
    ['$0 schema', 'list the schema names'],
    ['$0 schema ticket', 'the JSON Schema of a ticket file'],
    ['$0 schema translate.output --run gallia', "a stage's output_data schema from the run's pipeline"],
  ],
  builder: (y) =>
    y
      .positional('name', { type: 'string', describe: 'schema name (omit to list them)' })
      .option('run', { type: 'string', describe: "also offer this run's per-stage input/output schemas" }),
  async run(args) {
    const runId = optStr(args, 'run');
    const pipeline: Pipeline = runId !== undefined ? (await openRun(args.root, runId)).config.pipeline : { stages: {}, cascade: [] };
    const files = agentSchemas(pipeline);
    const byName = new Map(Object.entries(files).map(([file, text]) => [schemaNameOfFileName(file), text]));
    const typed = optStr(args, 'name')?.trim();
    const name = typed === undefined ? undefined : schemaNameOfFileName(typed);
    if (name === undefined) {
      const names = [...byName.keys()];
      return { data: { names }, text: `${names.join('\n')}${runId === undefined ? '\n(pass --run RUN for the per-stage input/output schemas)' : ''}` };
    }
    const text = byName.get(name);
    if (text === undefined) {
      throw new TqError('NOT_FOUND', `no schema "${name}"${runId !== undefined ? ` in run ${runId}` : ''}${didYouMean(name, byName.keys())}`, {
        hint: `schemas are: ${[...byName.keys()].join(', ')}${runId === undefined ? ' (stage schemas need --run RUN)' : ''}`,
      });
    }
    return { data: { name, schema: JSON.parse(text) as unknown }, text: text.trimEnd() };
  },
};
