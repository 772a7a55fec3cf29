import { relative } from 'node:path';
import { approveTicket, requeueTicket } from '../../core/ops/review-moves.js';
import { UNSTAMPED_GRACE_MS, reapExpired } from '../../core/ops/reap-claims.js';
import { fsckRun, type FsckProblem } from '../../core/fsck/fsck-run.js';
import { openRunFromArgs, table } from '../common.js';
import { durationMs, optStr, str, strList, type CommandSpec } from '../command.js';
import type { ReapAction } from '../../core/ops/reap-claims.js';

export const approveCommand: CommandSpec = {
  command: 'approve <run> <ticket>',
  describe: 'needs_review -> completed (then cascades)',
  examples: [['$0 approve gallia curate-k-hexagone-1a2b3c4d5e', 'accept a reviewed ticket']],
  builder: (y) =>
    y
      .positional('run', { type: 'string', describe: 'run id' })
      .positional('ticket', { type: 'string', describe: 'id of a ticket in needs_review' })
      .option('note', { type: 'string', describe: "why, kept in the ticket's history" }),
  async run(args) {
    const ctx = await openRunFromArgs({ ...args, run: str(args, 'run') });
    const note = optStr(args, 'note');
    const r = await approveTicket(ctx, str(args, 'ticket'), note);
    return { data: { ticket: r.ticket, path: r.path, cascade: r.cascade ?? null }, text: `approved ${r.ticket.ticket_id} -> completed${r.cascade ? `; children: ${r.cascade.created.length} created` : ''}` };
  },
};

export const requeueCommand: CommandSpec = {
  command: 'requeue <run> <tickets..>',
  describe: 'failed|needs_review -> pending (fresh attempts)',
  examples: [['$0 requeue gallia parse-mi0x2k3c000-a7f3z parse-mi0x2k3c001-b81kq', 'retry two failed tickets']],
  builder: (y) =>
    y
      .positional('run', { type: 'string', describe: 'run id' })
      .positional('tickets', { type: 'string', array: true, describe: 'ids of failed or needs_review tickets' })
      .option('note', { type: 'string', describe: "why, kept in each ticket's history" }),
  async run(args) {
    const ctx = await openRunFromArgs({ ...args, run: str(args, 'run') });
    const note = optStr(args, 'note');
    const done = [];
    for (const id of strList(args, 'tickets')) {
      const r = await requeueTicket(ctx, id, note);
      done.push({ ticket_id: r.ticket.ticket_id, from: r.from, path: r.path });
    }
    return { data: { run_id: ctx.runId, requeued: done }, text: done.map((d) => `requeued ${d.ticket_id} (was ${d.from})`).join('\n') };
  },
};

export const reapCommand: CommandSpec = {
  command: 'reap <run>',
  describe: 'return expired claims to pending (attempts+1), or to failed after max_attempts',
  examples: [['$0 reap gallia', 'one pass of the reaper (the daemon runs it continuously)']],
  builder: (y) => y.positional('run', { type: 'string', describe: 'run id' }),
  async run(args) {
    const ctx = await openRunFromArgs({ ...args, run: str(args, 'run') });
    const actions = await reapExpired(ctx, { unstampedGraceMs: UNSTAMPED_GRACE_MS });
    return {
      data: { run_id: ctx.runId, actions },
      text: actions.length === 0 ? 'no expired claims' : table(actions.map((a) => [REAP_WORDS[a.action], a.ticket_id, a.worker_id, a.note])),
    };
  },
};

/** What each reap action did, in words. Why not the action names: "requeued" is another command's name. */
const REAP_WORDS: Record<ReapAction['action'], string> = {
  requeued: 'returned to pending',
  failed: 'failed (out of attempts)',
  adopted: 'lease started',
  clamped: 'lease clamped',
  quarantined: 'quarantined',
  skipped: 'skipped',
};

export const fsckCommand: CommandSpec = {
  command: 'fsck <run>',
  describe: 'check every invariant; --repair mends what a crash or a git merge can leave',
  examples: [['$0 fsck gallia --repair', 'finish interrupted moves, restore lost tickets, cascade what was missed']],
  builder: (y) =>
    y
      .positional('run', { type: 'string', describe: 'run id' })
      .option('repair', { type: 'boolean', default: false, describe: 'mend what can be mended (finish moves, restore lost tickets, cascade, quarantine)' })
      .option('settle', { type: 'string', default: '2s', describe: 'how long a file in moving/ or .tmp/ must stay unchanged before repair treats it as left by a crash, e.g. 2s (0: at once)' }),
  async run(args) {
    const settleMs = durationMs(args, 'settle', { zero: true }) ?? 2000;
    const ctx = await openRunFromArgs({ ...args, run: str(args, 'run') });
    const r = await fsckRun(ctx, { repair: args.repair === true, settleMs });
    const lines = [`${r.run_id}: ${r.tickets} tickets (${Object.entries(r.by_state).map(([s, n]) => `${s} ${n}`).join(', ')})`];
    for (const a of r.recovered) lines.push(`recovered: ${a.action} ${a.ticket_id} (${a.file})`);
    for (const p of r.problems) lines.push(`${p.repaired ? 'repaired' : 'PROBLEM'} [${p.kind}] ${p.message}${fsckSubject(p, ctx.paths.dir)}${p.repaired ? ` -> ${p.repaired}` : ''}`);
    lines.push(r.ok ? 'ok' : 'problems found (run `tq fsck --repair` to mend them)');
    return { data: { ...r }, text: lines.join('\n'), exitCode: r.ok ? 0 : 9 };
  },
};

/**
 * The ticket a problem is about and where (its file relative to the run, so the state
 * directory shows: ` (ticket parse-x: pending/parse/parse-x.json)`), for every problem about a
 * ticket, even when the message names them too: one shape to read and to grep. Other problems
 * name their file when the message does not.
 */
function fsckSubject(p: FsckProblem, runDir: string): string {
  const rel = relative(runDir, p.file) || '.';
  if (p.ticket_id !== undefined) return ` (ticket ${p.ticket_id}: ${rel})`;
  return p.message.includes(p.file) ? '' : ` (${rel})`;
}
