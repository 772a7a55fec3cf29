import { TqError } from '../../core/model/errors.js';
import { MAX_DURATION, parseDuration } from '../../core/model/duration.js';
import { claimTicket } from '../../core/ops/claim-ticket.js';
import { MAX_CLAIM_BATCH, claimTickets } from '../../core/ops/claim-tickets.js';
import { submitTicket } from '../../core/ops/submit-ticket.js';
import { heartbeatTicket, releaseTicket } from '../../core/ops/worker-moves.js';
import { MAX_ERROR_CHARS, MAX_STDERR_TAIL_CHARS, failAttempt } from '../../core/ops/fail-attempt.js';
import { SUBMIT_STATES, type SubmitState } from '../../core/model/states.js';
import { childOrigins } from '../../core/views/child-origins.js';
import type { CascadeMarker } from '../../core/ops/cascade-ticket.js';
import type { RunCtx } from '../../core/store/run-context.js';
import { CONCERN_EXAMPLE, concernsFromArgs } from '../concern-args.js';
import { openRunFromArgs, readJsonArg } from '../common.js';
import { optStr, str, strList, type Args, type CommandSpec } from '../command.js';
import type { CliIo } from '../io.js';

export const claimCommand: CommandSpec = {
  command: 'claim <run>',
  describe: 'claim a pending ticket of a stage, or up to --max N (exit 3 when there is none, 15 when paused)',
  examples: [
    ['$0 claim gallia --type translate --worker agent-7 --json', '{"ticket": {...}, "path": "runs/gallia/claimed/agent-7/..."}'],
    ['$0 claim gallia --type translate --worker agent-7 --max 20 --json', '{"claimed": [{"ticket": {...}, "path": ...}, ...]}: up to 20 tickets'],
  ],
  builder: (y) =>
    y
      .positional('run', { type: 'string', describe: 'run id' })
      .option('type', { type: 'string', demandOption: true, describe: 'stage to claim from' })
      .option('worker', { type: 'string', demandOption: true, describe: 'your worker id' })
      .option('lease', { type: 'string', describe: `lease length, e.g. 10m, at most ${MAX_DURATION} (default: the stage lease)` })
      .option('max', { type: 'number', describe: `claim up to this many tickets (1 to ${MAX_CLAIM_BATCH}) in one call; --json then gives {"claimed": [...]}` }),
  async run(args) {
    const lease = leaseArg(args);
    const max = maxArg(args);
    const ctx = await openRunFromArgs({ ...args, run: str(args, 'run') });
    const opts = { stage: str(args, 'type'), workerId: str(args, 'worker'), ...(lease ? { lease } : {}) };
    const claimed = max === undefined ? [await claimTicket(ctx, opts)].filter((r) => r !== null) : await claimTickets(ctx, { ...opts, max });
    if (claimed.length === 0) {
      throw new TqError('NOTHING_CLAIMABLE', `nothing to claim: no pending ${str(args, 'type').trim()} tickets in ${ctx.runId}`, { hint: 'try again later, or check `tq status`' });
    }
    const text = claimed.map((r) => `claimed ${r.ticket.ticket_id} until ${r.ticket.claim?.lease_expires_at} (token ${r.ticket.claim?.token})\n${r.path}`).join('\n');
    const data = claimed.map((r) => ({ ticket: r.ticket, path: r.path }));
    return { data: max === undefined ? (data[0] as Record<string, unknown>) : { claimed: data }, text };
  },
};

/** --max, checked before the run is opened. */
function maxArg(args: Args): number | undefined {
  const max = args.max;
  if (max === undefined) return undefined;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > MAX_CLAIM_BATCH) {
    throw new TqError('USAGE', `--max ${String(max)} is not a whole number from 1 to ${MAX_CLAIM_BATCH}`, { field: 'max' });
  }
  return max;
}

/** --lease, checked before the run is opened: a bad or over-long lease is a usage error. */
function leaseArg(args: Args): string | undefined {
  const lease = optStr(args, 'lease');
  if (lease !== undefined) parseDuration(lease, 'lease');
  return lease;
}

async function usageFromArgs(args: Args, io: CliIo): Promise<Record<string, unknown> | undefined> {
  const raw = optStr(args, 'usage');
  let usage: Record<string, unknown> = {};
  if (raw !== undefined) {
    const parsed = raw.trim().startsWith('{') ? parseInline(raw) : await readJsonArg(raw, io, 'usage');
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new TqError('USAGE', '--usage must be a JSON object', { field: 'usage' });
    usage = { ...(parsed as Record<string, unknown>) };
  }
  for (const [flag, field] of [['input-tokens', 'input_tokens'], ['output-tokens', 'output_tokens'], ['model', 'model'], ['duration-ms', 'duration_ms']] as const) {
    const v = args[flag];
    if (v !== undefined) usage[field] = v;
  }
  return Object.keys(usage).length > 0 ? usage : undefined;
}

function parseInline(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch (err) {
    throw new TqError('USAGE', `--usage is not valid JSON: ${(err as Error).message}`, { field: 'usage' });
  }
}

export const submitCommand: CommandSpec = {
  command: 'submit <run> <ticket>',
  describe: 'hand in the output of a claimed ticket (fenced: refused after the lease was lost)',
  examples: [
    [`$0 submit gallia translate-mi0x2k3c000-a7f3z --worker agent-7 --output out.json ${CONCERN_EXAMPLE}`, 'complete a ticket with a concern'],
    ['$0 submit gallia translate-mi0x2k3c000-a7f3z --worker agent-7 --status failed < out.json', 'output from stdin; the ticket fails'],
  ],
  builder: (y) =>
    y
      .positional('run', { type: 'string', describe: 'run id' })
      .positional('ticket', { type: 'string', describe: 'id of the ticket you claimed' })
      .option('worker', { type: 'string', demandOption: true, describe: 'your worker id (the one that claimed the ticket)' })
      .option('output', { type: 'string', describe: 'file with the output_data JSON object, or - for stdin (default: stdin, which must not be a terminal)' })
      .option('concern', { type: 'string', array: true, describe: 'LEVEL:MESSAGE, LEVEL one of info, review, error; only the first colon splits (repeatable)' })
      .option('suggestion', { type: 'string', array: true, describe: 'a suggestion for the --concern just before it' })
      .option('concerns-file', { type: 'string', describe: 'JSON array of {level, message, suggestion}' })
      .option('usage', { type: 'string', describe: 'token usage JSON object (inline or a file)' })
      .option('input-tokens', { type: 'number', describe: 'usage.input_tokens' })
      .option('output-tokens', { type: 'number', describe: 'usage.output_tokens' })
      .option('model', { type: 'string', describe: 'usage.model: the model that did the work' })
      .option('duration-ms', { type: 'number', describe: 'usage.duration_ms: how long the work took' })
      .option('status', { choices: SUBMIT_STATES, default: 'completed' as const, describe: 'where the ticket goes' })
      .option('token', { type: 'string', describe: 'claim token from `tq claim` (refuses a submit from an older claim)' }),
  async run(args, io, argv) {
    const output = optStr(args, 'output') ?? '-';
    // Why: `tq submit` typed at a terminal without --output would wait for JSON nobody types.
    if (output === '-' && optStr(args, 'output') === undefined && (io.stdin as { isTTY?: boolean }).isTTY === true) {
      throw new TqError('USAGE', 'submit reads the output JSON from stdin, which is a terminal here: pass --output FILE (or pipe the JSON in)', { field: 'output', hint: 'e.g. tq submit RUN TICKET --worker ID --output out.json' });
    }
    const concerns: unknown[] = concernsFromArgs(strList(args, 'concern'), strList(args, 'suggestion'), argv);
    const ctx = await openRunFromArgs({ ...args, run: str(args, 'run') });
    const cf = optStr(args, 'concerns-file');
    if (cf !== undefined) {
      const more = await readJsonArg(cf, io, 'concerns file');
      if (!Array.isArray(more)) throw new TqError('INVALID_INPUT', `${cf}: must be a JSON array of concerns`, { file: cf });
      concerns.push(...more);
    }
    const usage = await usageFromArgs(args, io);
    const token = optStr(args, 'token');
    const r = await submitTicket(ctx, {
      ticketId: str(args, 'ticket'),
      workerId: str(args, 'worker'),
      output: await readJsonArg(output, io, 'output'),
      outputFile: output === '-' ? '<stdin>' : output,
      concerns,
      ...(usage ? { usage } : {}),
      status: str(args, 'status') as SubmitState,
      ...(token ? { token } : {}),
    });
    const kids = r.cascade ? `; children: ${await childrenNote(ctx, r.ticket.ticket_id, r.cascade)}` : '';
    return {
      data: { ticket: r.ticket, path: r.path, repeated: r.repeated, cascade: r.cascade ?? null },
      text: `${r.repeated ? 'already submitted' : 'submitted'} ${r.ticket.ticket_id} -> ${r.ticket.status}${kids}`,
    };
  },
};

/**
 * "2 created", or e.g. "1 created, 1 made by the daemon first, 1 already there for another
 * ticket (same key)": a child this submit did not create is said to be someone else's doing.
 */
async function childrenNote(ctx: RunCtx, parentId: string, cascade: CascadeMarker): Promise<string> {
  const origins = await childOrigins(ctx, parentId, cascade.deduplicated);
  return [
    cascade.created.length > 0 || cascade.deduplicated.length === 0 ? `${cascade.created.length} created` : '',
    origins.sameParent.length > 0 ? `${origins.sameParent.length} made by the daemon first` : '',
    origins.otherParent.length > 0 ? `${origins.otherParent.length} already there for another ticket (same key)` : '',
  ]
    .filter(Boolean)
    .join(', ');
}

export const heartbeatCommand: CommandSpec = {
  command: 'heartbeat <run> <ticket>',
  describe: 'extend the lease of a ticket you hold',
  examples: [['$0 heartbeat gallia translate-mi0x2k3c000-a7f3z --worker agent-7', 'lease renewed from now']],
  builder: (y) =>
    y
      .positional('run', { type: 'string', describe: 'run id' })
      .positional('ticket', { type: 'string', describe: 'id of the ticket you hold' })
      .option('worker', { type: 'string', demandOption: true, describe: 'your worker id' })
      .option('lease', { type: 'string', describe: `new lease length from now, e.g. 10m, at most ${MAX_DURATION} (default: the stage lease)` })
      .option('token', { type: 'string', describe: 'claim token from `tq claim` (refuses a heartbeat from an older claim)' }),
  async run(args) {
    const lease = leaseArg(args);
    const ctx = await openRunFromArgs({ ...args, run: str(args, 'run') });
    const token = optStr(args, 'token');
    const r = await heartbeatTicket(ctx, { ticketId: str(args, 'ticket'), workerId: str(args, 'worker'), ...(lease ? { lease } : {}), ...(token ? { token } : {}) });
    return { data: { ticket: r.ticket, path: r.path }, text: `lease of ${r.ticket.ticket_id} now ends ${r.ticket.claim?.lease_expires_at}` };
  },
};

export const releaseCommand: CommandSpec = {
  command: 'release <run> <ticket>',
  describe: 'give a claimed ticket back to pending',
  examples: [['$0 release gallia translate-mi0x2k3c000-a7f3z --worker agent-7', 'someone else can claim it']],
  builder: (y) =>
    y
      .positional('run', { type: 'string', describe: 'run id' })
      .positional('ticket', { type: 'string', describe: 'id of the ticket you hold' })
      .option('worker', { type: 'string', demandOption: true, describe: 'your worker id' })
      .option('reason', { type: 'string', describe: "why, kept in the ticket's history" })
      .option('token', { type: 'string', describe: 'claim token from `tq claim` (refuses a release from an older claim)' }),
  async run(args) {
    const ctx = await openRunFromArgs({ ...args, run: str(args, 'run') });
    const reason = optStr(args, 'reason');
    const token = optStr(args, 'token');
    const r = await releaseTicket(ctx, { ticketId: str(args, 'ticket'), workerId: str(args, 'worker'), ...(reason ? { reason } : {}), ...(token ? { token } : {}) });
    return { data: { ticket: r.ticket, path: r.path }, text: `released ${r.ticket.ticket_id} to pending` };
  },
};

export const failCommand: CommandSpec = {
  command: 'fail <run> <ticket>',
  describe: 'report a failed attempt at a ticket you hold: retried after the stage backoff, or failed/ after max_attempts',
  examples: [['$0 fail gallia translate-mi0x2k3c000-a7f3z --worker agent-7 --error "exit 1: model timed out" --stderr-tail "$(tail -c 4000 err.log)"', 'back to pending, claimable again after the retry delay']],
  builder: (y) =>
    y
      .positional('run', { type: 'string', describe: 'run id' })
      .positional('ticket', { type: 'string', describe: 'id of the ticket you hold' })
      .option('worker', { type: 'string', demandOption: true, describe: 'your worker id' })
      .option('error', { type: 'string', demandOption: true, describe: `what went wrong (kept on the ticket, at most ${MAX_ERROR_CHARS} characters)` })
      .option('stderr-tail', { type: 'string', describe: `the end of the command's stderr (the last ${MAX_STDERR_TAIL_CHARS} characters are kept)` })
      .option('token', { type: 'string', describe: 'claim token from `tq claim` (refuses a report from an older claim)' }),
  async run(args) {
    const ctx = await openRunFromArgs({ ...args, run: str(args, 'run') });
    const token = optStr(args, 'token');
    const stderrTail = optStr(args, 'stderr-tail');
    const r = await failAttempt(ctx, str(args, 'ticket'), { workerId: str(args, 'worker'), error: str(args, 'error'), ...(stderrTail ? { stderrTail } : {}), ...(token ? { token } : {}) });
    const text =
      r.outcome === 'failed'
        ? `${r.ticket.ticket_id} failed for good after ${r.attempts} attempts -> ${r.path}`
        : `${r.ticket.ticket_id}: attempt ${r.attempts} failed; back to pending, claimable from ${r.not_before}`;
    return { data: { ...r }, text };
  },
};
