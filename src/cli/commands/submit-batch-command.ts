import { TqError } from '../../core/model/errors.js';
import { SUBMIT_STATES, type SubmitState } from '../../core/model/states.js';
import { readInputItems } from '../../core/ops/read-input.js';
import type { SubmitOptions } from '../../core/ops/submit-ticket.js';
import { submitTickets, type BatchSubmitOutcome } from '../../core/ops/submit-tickets.js';
import { openRunFromArgs } from '../common.js';
import { str, type CommandSpec } from '../command.js';
import type { CliIo } from '../io.js';

/** The most lines one batch file may hold (all are read before anything is submitted). */
export const MAX_SUBMIT_BATCH = 10_000;
const LINE_KEYS = new Set(['ticket_id', 'output_data', 'worker_concerns', 'usage', 'status', 'token']);

export const submitBatchCommand: CommandSpec = {
  command: 'submit-batch <run> <file>',
  describe: 'hand in the outputs of many claimed tickets, one JSON object per line (each fenced on its own, as submit)',
  examples: [['$0 submit-batch gallia outs.jsonl --worker agent-7 --json', 'lines {"ticket_id", "output_data", "worker_concerns"?, "usage"?, "status"?, "token"?}; one result per line']],
  builder: (y) =>
    y
      .positional('run', { type: 'string', describe: 'run id' })
      .positional('file', { type: 'string', describe: 'JSONL file of submissions, or - for stdin' })
      .option('worker', { type: 'string', demandOption: true, describe: 'your worker id (the one that claimed the tickets)' }),
  async run(args, io) {
    const workerId = str(args, 'worker');
    // Why every line before the run is touched: a malformed file submits nothing.
    const submissions = await readSubmissions(str(args, 'file'), io, workerId);
    const ctx = await openRunFromArgs({ ...args, run: str(args, 'run') });
    const outcomes = await submitTickets(ctx, submissions);
    const failed = outcomes.find((o) => !o.ok);
    return {
      data: { results: outcomes.map(outcomeData) },
      text: outcomes.map(outcomeText).join('\n'),
      // Why the first failure's code: a script that checks $? learns what went wrong first; --json has every one.
      ...(failed && !failed.ok ? { exitCode: failed.error.exitCode } : {}),
    };
  },
};

async function readSubmissions(file: string, io: CliIo, workerId: string): Promise<SubmitOptions[]> {
  const out: SubmitOptions[] = [];
  for await (const { item, where } of readInputItems(file, io.stdin)) {
    if (out.length >= MAX_SUBMIT_BATCH) throw new TqError('INVALID_INPUT', `${file}: more than ${MAX_SUBMIT_BATCH} submissions; split the batch`, { file });
    out.push(submissionOf(item, where, workerId));
  }
  if (out.length === 0) throw new TqError('INVALID_INPUT', `${file}: no submissions in it`, { file, hint: 'one JSON object per line: {"ticket_id": ..., "output_data": {...}}' });
  return out;
}

/** One line as submitTicket's options; INVALID_INPUT naming the line and the field when it is not one. */
function submissionOf(line: Record<string, unknown>, where: string, workerId: string): SubmitOptions {
  const bad = (field: string, why: string): TqError => new TqError('INVALID_INPUT', `${where}: ${field} ${why}`, { file: where, field });
  const extra = Object.keys(line).find((k) => !LINE_KEYS.has(k));
  if (extra !== undefined) throw bad(extra, `is not a submission field (${[...LINE_KEYS].join(', ')})`);
  const { ticket_id: ticketId, output_data: output, worker_concerns: concerns, usage, status, token } = line;
  if (typeof ticketId !== 'string') throw bad('ticket_id', 'must be the id of a ticket you claimed');
  if (!('output_data' in line)) throw bad('output_data', 'is missing');
  if (concerns !== undefined && !Array.isArray(concerns)) throw bad('worker_concerns', 'must be an array of concerns');
  if (status !== undefined && !SUBMIT_STATES.includes(status as SubmitState)) throw bad('status', `must be one of ${SUBMIT_STATES.join(', ')}`);
  if (token !== undefined && typeof token !== 'string') throw bad('token', 'must be the claim token, a string');
  return {
    ticketId,
    workerId,
    output,
    outputFile: where,
    outputPointer: '/output_data',
    ...(concerns !== undefined ? { concerns: concerns as unknown[] } : {}),
    ...(usage !== undefined ? { usage } : {}),
    ...(status !== undefined ? { status: status as SubmitState } : {}),
    ...(token !== undefined ? { token } : {}),
  };
}

function outcomeData(o: BatchSubmitOutcome): Record<string, unknown> {
  if (!o.ok) return { ticket_id: o.ticketId, ok: false, error: o.error.toJSON() };
  const r = o.result;
  return { ticket_id: o.ticketId, ok: true, ticket: r.ticket, path: r.path, repeated: r.repeated, cascade: r.cascade ?? null };
}

function outcomeText(o: BatchSubmitOutcome): string {
  if (!o.ok) return `refused ${o.ticketId}: ${o.error.message}`;
  return `${o.result.repeated ? 'already submitted' : 'submitted'} ${o.ticketId} -> ${o.result.ticket.status}${o.result.cascade ? `; ${o.result.cascade.created.length} children created` : ''}`;
}
