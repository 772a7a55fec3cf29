import { runStatus, listTicketDirs } from '../../core/views/list-tickets.js';
import { SCHEMA_VERSION } from '../../core/model/ticket-schema.js';
import { writeTicketJson, writeTicketTable } from '../render/list-output.js';
import { showTicket } from '../../core/views/show-ticket.js';
import { collectConcerns } from '../../core/views/collect-concerns.js';
import { cleanId } from '../../core/model/ids.js';
import { stageConfig } from '../../core/model/pipeline.js';
import type { RunCtx } from '../../core/store/run-context.js';
import { openRunFromArgs, table } from '../common.js';
import { optStr, str, type CommandSpec } from '../command.js';
import { runLiveCommand, withLiveOptions } from './top-command.js';

export const statusCommand: CommandSpec = {
  command: 'status <run>',
  describe: 'counts per stage and state (reads directory listings only)',
  examples: [
    ['$0 status gallia --json', '{"run_id": "gallia", "counts": {"parse": {"pending": 3, ...}}}'],
    ['$0 status gallia --watch', 'live view, same as `tq top gallia`'],
  ],
  builder: (y) => withLiveOptions(y.positional('run', { type: 'string', describe: 'run id' }).option('watch', { type: 'boolean', default: false, describe: 'redraw every --interval (see `tq top`)' })),
  async run(args, io) {
    if (args.watch === true) return runLiveCommand(args, io);
    const ctx = await openRunFromArgs({ ...args, run: str(args, 'run') });
    const s = await runStatus(ctx);
    const rows = Object.entries(s.counts).map(([stage, c]) => {
      const total = c.pending + c.claimed + c.completed + c.failed + c.needs_review;
      return [stage, String(c.pending), String(c.claimed), String(c.completed), String(c.failed), String(c.needs_review), `${c.completed}/${total}`];
    });
    const extra = [
      s.paused ? `PAUSED: ${s.paused.map((p) => (p === 'run' ? 'every stage (the whole run)' : `stage ${p}`)).join(', ')}; \`tq resume ${s.run_id}\` lets claims go on` : '',
      Object.keys(s.delayed).length > 0 ? `not claimable yet (delayed or backing off, counted in PENDING): ${Object.entries(s.delayed).map(([st, n]) => `${st} ${n}`).join(', ')}` : '',
      Object.keys(s.workers).length > 0 ? `workers: ${Object.entries(s.workers).map(([w, n]) => `${w} (${n})`).join(', ')}` : '',
      s.in_flight > 0 ? `in flight: ${s.in_flight}` : '',
      s.rejected_outputs > 0 ? `rejected late outputs: ${s.rejected_outputs} (see rejected/)` : '',
      s.quarantined > 0 ? `quarantined files: ${s.quarantined} (see quarantine/)` : '',
      s.unsafe_dirs ? `not counted (not real directories of the run, left alone): ${s.unsafe_dirs.join(', ')}` : '',
    ].filter(Boolean);
    return {
      data: { ...s },
      text: [`run ${s.run_id}`, table([['STAGE', 'PENDING', 'CLAIMED', 'COMPLETED', 'FAILED', 'REVIEW', 'DONE'], ...rows]), ...extra].join('\n'),
    };
  },
};

export const listCommand: CommandSpec = {
  command: 'list <run>',
  describe: 'list tickets (ids, states, workers) from directory listings',
  examples: [['$0 list gallia --state claimed --type translate', 'who holds which translate ticket']],
  builder: (y) =>
    y
      .positional('run', { type: 'string', describe: 'run id' })
      .option('state', { type: 'string', describe: 'only this state: pending, claimed, completed, failed or needs_review' })
      .option('type', { type: 'string', describe: 'only this stage' }),
  async run(args, io) {
    const ctx = await openRunFromArgs({ ...args, run: str(args, 'run') });
    const state = optStr(args, 'state');
    const stage = stageArg(ctx, optStr(args, 'type'));
    const filter = { ...(state ? { state } : {}), ...(stage ? { stage } : {}) };
    if (args.json === true) {
      // Streamed like the text: the same JSON main() would print, without one huge string.
      const count = writeTicketJson(await listTicketDirs(ctx, filter), { schema_version: SCHEMA_VERSION, run_id: ctx.runId }, io.stdout);
      return { data: { run_id: ctx.runId, count }, text: '', streamed: true };
    }
    // Text goes out as it is made, a chunk of lines per write, rather than as one string.
    const count = writeTicketTable(await listTicketDirs(ctx, filter), io.stdout);
    return { data: { run_id: ctx.runId, count }, text: count === 0 ? 'no tickets match' : '' };
  },
};

export const showCommand: CommandSpec = {
  command: 'show <run> <ticket>',
  describe: 'one ticket: its JSON, state, lineage, kept late outputs, attempt logs',
  examples: [['$0 show gallia translate-mi0x2k3c000-a7f3z', 'the whole ticket']],
  builder: (y) => y.positional('run', { type: 'string', describe: 'run id' }).positional('ticket', { type: 'string', describe: 'ticket id' }),
  async run(args) {
    const ctx = await openRunFromArgs({ ...args, run: str(args, 'run') });
    const v = await showTicket(ctx, cleanId(str(args, 'ticket'), 'ticket id'));
    const lines = [`${v.ticket.ticket_id}  ${v.state}  ${v.path}`];
    if (v.requested_by.length > 1) lines.push(`requested by: ${v.requested_by.join(', ')}`);
    if (v.cascade) lines.push(`children: ${v.cascade.children.join(', ') || '(none)'}`);
    for (const r of v.rejected_outputs) lines.push(`rejected late output from ${r.worker_id} at ${r.rejected_at}: ${r.path}`);
    for (const l of v.logs) lines.push(`log: ${l}`);
    for (const d of v.duplicates) lines.push(`WARNING: another copy at ${d} (run tq fsck)`);
    lines.push(JSON.stringify(v.ticket, null, 2));
    return { data: { ...v }, text: lines.join('\n') };
  },
};

export const concernsCommand: CommandSpec = {
  command: 'concerns <run>',
  describe: 'worker concerns, grouped by level and stage',
  examples: [['$0 concerns gallia --level review', 'the review queue']],
  builder: (y) =>
    y
      .positional('run', { type: 'string', describe: 'run id' })
      .option('level', { type: 'string', describe: 'only this level: info, review or error' })
      .option('type', { type: 'string', describe: 'only this stage' }),
  async run(args) {
    const ctx = await openRunFromArgs({ ...args, run: str(args, 'run') });
    const level = optStr(args, 'level');
    const stage = stageArg(ctx, optStr(args, 'type'));
    const r = await collectConcerns(ctx, { ...(level ? { level } : {}), ...(stage ? { stage } : {}) });
    const lines: string[] = [`${r.concerns.length} concern(s): ${r.by_level.error} error, ${r.by_level.review} review, ${r.by_level.info} info`];
    let group = '';
    for (const c of r.concerns) {
      const g = `${c.level.toUpperCase()} · ${c.stage}`;
      if (g !== group) lines.push('', g);
      group = g;
      lines.push(`  ${c.ticket_id}${c.worker_id ? ` (${c.worker_id})` : ''}${c.rejected ? ' [rejected output]' : ''}: ${c.message}${c.suggestion ? `\n    suggestion: ${c.suggestion}` : ''}`);
    }
    return { data: { run_id: ctx.runId, ...r }, text: lines.join('\n') };
  },
};

/** A --type filter: a stage of the run (USAGE naming the stages, with a did-you-mean, if not). */
function stageArg(ctx: RunCtx, stage: string | undefined): string | undefined {
  if (stage !== undefined) stageConfig(ctx.config.pipeline, stage.trim());
  return stage;
}
