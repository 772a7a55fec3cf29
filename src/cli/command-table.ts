import type { CommandSpec } from './command.js';

/** A command as `tq --help` lists it; its module (builder, run) is imported only when it runs. */
export interface CommandEntry {
  command: string;
  /** The line's required shape, e.g. `claim <run> --type <stage> --worker <id>` (help and usage errors add `tq` and `[options]`). */
  usage: string;
  describe: string;
  load: () => Promise<CommandSpec>;
}

/**
 * Every command, in help order. Why a table: importing every command module (zod schemas,
 * chokidar, the graph renderers) cost each `tq claim` more than the claim itself; now a run
 * loads only its own command. test/cli/fast-args.test.ts checks command and describe match
 * the modules.
 */
export const COMMANDS: CommandEntry[] = [
  { command: 'create <run>', usage: 'create <run> --pipeline <file>', describe: 'create a run from a pipeline, optionally with input tickets', load: async () => (await import('./commands/run-commands.js')).createCommand },
  { command: 'add <run>', usage: 'add <run>', describe: 'add tickets of a stage from work items', load: async () => (await import('./commands/run-commands.js')).addCommand },
  { command: 'runs', usage: 'runs', describe: 'list the runs under the root', load: async () => (await import('./commands/run-commands.js')).runsCommand },
  { command: 'status <run>', usage: 'status <run>', describe: 'counts per stage and state (reads directory listings only)', load: async () => (await import('./commands/inspect-commands.js')).statusCommand },
  { command: 'list <run>', usage: 'list <run>', describe: 'list tickets (ids, states, workers) from directory listings', load: async () => (await import('./commands/inspect-commands.js')).listCommand },
  { command: 'show <run> <ticket>', usage: 'show <run> <ticket>', describe: 'one ticket: its JSON, state, lineage, kept late outputs, attempt logs', load: async () => (await import('./commands/inspect-commands.js')).showCommand },
  { command: 'claim <run>', usage: 'claim <run> --type <stage> --worker <id>', describe: 'claim a pending ticket of a stage, or up to --max N (exit 3 when there is none, 15 when paused)', load: async () => (await import('./commands/worker-commands.js')).claimCommand },
  { command: 'heartbeat <run> <ticket>', usage: 'heartbeat <run> <ticket> --worker <id>', describe: 'extend the lease of a ticket you hold', load: async () => (await import('./commands/worker-commands.js')).heartbeatCommand },
  { command: 'submit <run> <ticket>', usage: 'submit <run> <ticket> --worker <id>', describe: 'hand in the output of a claimed ticket (fenced: refused after the lease was lost)', load: async () => (await import('./commands/worker-commands.js')).submitCommand },
  { command: 'submit-batch <run> <file>', usage: 'submit-batch <run> <file> --worker <id>', describe: 'hand in the outputs of many claimed tickets, one JSON object per line (each fenced on its own, as submit)', load: async () => (await import('./commands/submit-batch-command.js')).submitBatchCommand },
  { command: 'release <run> <ticket>', usage: 'release <run> <ticket> --worker <id>', describe: 'give a claimed ticket back to pending', load: async () => (await import('./commands/worker-commands.js')).releaseCommand },
  { command: 'fail <run> <ticket>', usage: 'fail <run> <ticket> --worker <id> --error <text>', describe: 'report a failed attempt at a ticket you hold: retried after the stage backoff, or failed/ after max_attempts', load: async () => (await import('./commands/worker-commands.js')).failCommand },
  { command: 'pause <run>', usage: 'pause <run>', describe: 'pause claims of a stage (--stage) or of the whole run: claimers get PAUSED (exit 15)', load: async () => (await import('./commands/pause-commands.js')).pauseCommand },
  { command: 'resume <run>', usage: 'resume <run>', describe: 'let claims go on after `tq pause` (of a stage, or everything)', load: async () => (await import('./commands/pause-commands.js')).resumeCommand },
  { command: 'work <run>', usage: 'work <run> --stage <stage> -- <command> [<arg>...]', describe: 'run a program once per ticket of a stage (input on stdin, output on stdout): heartbeats, retries, logs; no daemon needed', load: async () => (await import('./commands/work-command.js')).workCommand },
  { command: 'approve <run> <ticket>', usage: 'approve <run> <ticket>', describe: 'needs_review -> completed (then cascades)', load: async () => (await import('./commands/operator-commands.js')).approveCommand },
  { command: 'requeue <run> <tickets..>', usage: 'requeue <run> <ticket>...', describe: 'failed|needs_review -> pending (fresh attempts)', load: async () => (await import('./commands/operator-commands.js')).requeueCommand },
  { command: 'concerns <run>', usage: 'concerns <run>', describe: 'worker concerns, grouped by level and stage', load: async () => (await import('./commands/inspect-commands.js')).concernsCommand },
  { command: 'reap <run>', usage: 'reap <run>', describe: 'return expired claims to pending (attempts+1), or to failed after max_attempts', load: async () => (await import('./commands/operator-commands.js')).reapCommand },
  { command: 'fsck <run>', usage: 'fsck <run>', describe: 'check every invariant; --repair mends what a crash or a git merge can leave', load: async () => (await import('./commands/operator-commands.js')).fsckCommand },
  { command: 'demo', usage: 'demo', describe: 'run the bundled example end to end: daemon, tq work agents, file-only agents, a crashed agent', load: async () => (await import('./commands/demo-command.js')).demoCommand },
  { command: 'daemon [runs..]', usage: 'daemon [<run>...]', describe: 'watch runs: cascade completed tickets, reap expired claims, serve file-only workers (requests/, *.result.json)', load: async () => (await import('./commands/daemon-command.js')).daemonCommand },
  { command: 'stats <run>', usage: 'stats <run>', describe: 'tokens, cost, time, throughput, reaps and concerns per stage and per worker', load: async () => (await import('./commands/stats-command.js')).statsCommand },
  { command: 'lineage <run> <ticket>', usage: 'lineage <run> <ticket>', describe: 'the chain root -> ... -> ticket, with states, workers and source refs', load: async () => (await import('./commands/lineage-command.js')).lineageCommand },
  { command: 'graph <run>', usage: 'graph <run>', describe: 'the ticket DAG as Mermaid or Graphviz DOT (stages as clusters, concerns outlined)', load: async () => (await import('./commands/graph-command.js')).graphCommand },
  { command: 'top <run>', usage: 'top <run>', describe: 'live progress: per-stage bars, rate and ETA, claims and leases, stalled claims, recent concerns', load: async () => (await import('./commands/top-command.js')).topCommand },
  { command: 'board [run]', usage: 'board [<run>]', describe: 'a live web page of the runs: progress, tickets, DAG, stats (read-only unless --allow-actions)', load: async () => (await import('./commands/board-command.js')).boardCommand },
  { command: 'commit <run>', usage: 'commit <run>', describe: 'git-commit the run directory (only it) with a summary of what changed since the last commit', load: async () => (await import('./commands/commit-command.js')).commitCommand },
  { command: 'completion', usage: 'completion', describe: 'print a shell completion script (bash, zsh or fish)', load: async () => (await import('./commands/completion-command.js')).completionCommand },
  { command: 'schema [name]', usage: 'schema [<name>]', describe: 'print a JSON Schema: ticket, request, reply, result, or <stage>.input / <stage>.output with --run', load: async () => (await import('./commands/schema-command.js')).schemaCommand },
];

/** The table entry for a command name (the first word of its `command`). */
export function findCommand(name: string): CommandEntry | undefined {
  return COMMANDS.find((c) => c.command.split(' ')[0] === name);
}
