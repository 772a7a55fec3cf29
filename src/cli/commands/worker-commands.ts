import { TqError } from '../../core/model/errors.js';
import { MAX_DURATION, parseDuration } from '../../core/model/duration.js';
import { claimTicket } from '../../core/ops/claim-ticket.js';
import { submitTicket } from '../../core/ops/submit-ticket.js';
import { heartbeatTicket, releaseTicket } from '../../core/ops/worker-moves.js';
import { CONCERN_LEVELS, SUBMIT_STATES, type SubmitState } from '../../core/model/states.js';
import type { Concern } from '../../core/model/ticket-schema.js';
import { openRunFromArgs, readJsonArg } from '../common.js';
import { optStr, str, strList, type Args, type CommandSpec } from '../command.js';
import type { CliIo } from '../io.js';

export const claimCommand: CommandSpec = {
  command: 'claim <run>',
  describe: 'claim one pending ticket of a stage (exit 3 when there is none)',
  examples: [['$0 claim gallia --type translate --worker agent-7 --json', '{"ticket": {...}, "path": "runs/gallia/claimed/agent-7/..."}']],
  builder: (y) =>
    y
      .positional('run', { type: 'string' })
      .option('type', { type: 'string', demandOption: true, describe: 'stage to claim from' })
      .option('worker', { type: 'string', demandOption: true, describe: 'your worker id' })
      .option('lease', { type: 'string', describe: `lease length, e.g. 10m, at most ${MAX_DURATION} (default: the stage lease)` }),
  async run(args) {
    const lease = leaseArg(args);
    const ctx = await openRunFromArgs({ ...args, run: str(args, 'run') });
    const r = await claimTicket(ctx, { stage: str(args, 'type'), workerId: str(args, 'worker'), ...(lease ? { lease } : {}) });
    if (!r) {
      throw new TqError('NOTHING_CLAIMABLE', `nothing to claim: no pending ${str(args, 'type').trim()} tickets in ${ctx.runId}`, { hint: 'try again later, or check `tq status`' });
    }
    return {
      data: { ticket: r.ticket, path: r.path },
      text: `claimed ${r.ticket.ticket_id} until ${r.ticket.claim?.lease_expires_at} (token ${r.ticket.claim?.token})\n${r.path}`,
    };
  },
};

/** --lease, checked before the run is opened: a bad or over-long lease is a usage error. */
function leaseArg(args: Args): string | undefined {
  const lease = optStr(args, 'lease');
  if (lease !== undefined) parseDuration(lease, 'lease');
  return lease;
}

function parseConcernArg(text: string): Concern {
  const first = text.indexOf(':');
  const level = (first < 0 ? '' : text.slice(0, first)).trim();
  if (!(CONCERN_LEVELS as readonly string[]).includes(level)) {
    throw new TqError('USAGE', `--concern "${text}": must start with info:, review: or error:`, { field: 'concern', hint: 'e.g. --concern "review:Ambiguous speaker:check node 0x14dfea"' });
  }
  const rest = text.slice(first + 1);
  const second = rest.indexOf(':');
  const message = (second < 0 ? rest : rest.slice(0, second)).trim();
  const suggestion = second < 0 ? undefined : rest.slice(second + 1).trim();
  if (message === '') throw new TqError('USAGE', `--concern "${text}": the message is empty`, { field: 'concern' });
  return { level: level as Concern['level'], message, ...(suggestion ? { suggestion } : {}) };
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
  examples: [['$0 submit gallia translate-mi0x2k3c000-a7f3z --worker agent-7 --output out.json --concern "review:Odd idiom:check line 3"', 'complete a ticket with a concern']],
  builder: (y) =>
    y
      .positional('run', { type: 'string' })
      .positional('ticket', { type: 'string' })
      .option('worker', { type: 'string', demandOption: true })
      .option('output', { type: 'string', default: '-', describe: 'file with the output_data JSON object, or - for stdin' })
      .option('concern', { type: 'string', array: true, describe: 'level:message[:suggestion], repeatable' })
      .option('concerns-file', { type: 'string', describe: 'JSON array of {level, message, suggestion}' })
      .option('usage', { type: 'string', describe: 'token usage JSON object (inline or a file)' })
      .option('input-tokens', { type: 'number' })
      .option('output-tokens', { type: 'number' })
      .option('model', { type: 'string' })
      .option('duration-ms', { type: 'number' })
      .option('status', { choices: SUBMIT_STATES, default: 'completed' as const })
      .option('token', { type: 'string', describe: 'claim token from `tq claim` (refuses a submit from an older claim)' }),
  async run(args, io) {
    const ctx = await openRunFromArgs({ ...args, run: str(args, 'run') });
    const concerns: unknown[] = strList(args, 'concern').map(parseConcernArg);
    const cf = optStr(args, 'concerns-file');
    if (cf !== undefined) {
      const more = await readJsonArg(cf, io, 'concerns file');
      if (!Array.isArray(more)) throw new TqError('INVALID_INPUT', `${cf}: must be a JSON array of concerns`, { file: cf });
      concerns.push(...more);
    }
    const usage = await usageFromArgs(args, io);
    const token = optStr(args, 'token');
    const outputArg = str(args, 'output');
    const r = await submitTicket(ctx, {
      ticketId: str(args, 'ticket'),
      workerId: str(args, 'worker'),
      output: await readJsonArg(outputArg, io, 'output'),
      outputFile: outputArg === '-' ? '<stdin>' : outputArg,
      concerns,
      ...(usage ? { usage } : {}),
      status: str(args, 'status') as SubmitState,
      ...(token ? { token } : {}),
    });
    const kids = r.cascade ? `; children: ${r.cascade.created.length} created${r.cascade.deduplicated.length ? `, ${r.cascade.deduplicated.length} already existed` : ''}` : '';
    return {
      data: { ticket: r.ticket, path: r.path, repeated: r.repeated, cascade: r.cascade ?? null },
      text: `${r.repeated ? 'already submitted' : 'submitted'} ${r.ticket.ticket_id} -> ${r.ticket.status}${kids}`,
    };
  },
};

export const heartbeatCommand: CommandSpec = {
  command: 'heartbeat <run> <ticket>',
  describe: 'extend the lease of a ticket you hold',
  examples: [['$0 heartbeat gallia translate-mi0x2k3c000-a7f3z --worker agent-7', 'lease renewed from now']],
  builder: (y) => y.positional('run', { type: 'string' }).positional('ticket', { type: 'string' }).option('worker', { type: 'string', demandOption: true }).option('lease', { type: 'string', describe: `new lease length from now, e.g. 10m, at most ${MAX_DURATION} (default: the stage lease)` }).option('token', { type: 'string' }),
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
  builder: (y) => y.positional('run', { type: 'string' }).positional('ticket', { type: 'string' }).option('worker', { type: 'string', demandOption: true }).option('reason', { type: 'string' }).option('token', { type: 'string' }),
  async run(args) {
    const ctx = await openRunFromArgs({ ...args, run: str(args, 'run') });
    const reason = optStr(args, 'reason');
    const token = optStr(args, 'token');
    const r = await releaseTicket(ctx, { ticketId: str(args, 'ticket'), workerId: str(args, 'worker'), ...(reason ? { reason } : {}), ...(token ? { token } : {}) });
    return { data: { ticket: r.ticket, path: r.path }, text: `released ${r.ticket.ticket_id} to pending` };
  },
};
