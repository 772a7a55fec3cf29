import type { CommandSpec } from '../command.js';
import { statsCommand } from './stats-command.js';
import { lineageCommand } from './lineage-command.js';
import { graphCommand } from './graph-command.js';
import { topCommand } from './top-command.js';
import { commitCommand } from './commit-command.js';
import { completionCommand } from './completion-command.js';
import { schemaCommand } from './schema-command.js';

/** Operator commands: see (stats, lineage, graph, top), keep (commit) and tooling (completion, schema). */
export const observeCommands: CommandSpec[] = [statsCommand, lineageCommand, graphCommand, topCommand, commitCommand, completionCommand, schemaCommand];
