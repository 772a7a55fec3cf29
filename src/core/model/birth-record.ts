import { TqError } from './errors.js';
import { parseTicket, stripBom } from './serialize-ticket.js';
import { TICKET_KEY_ORDER, Ticket } from './ticket-schema.js';
import { formatZodIssue } from './zod-messages.js';

/** The `record` field that marks a file as a birth record (`registry/<stage>/<id>.json`). */
export const BIRTH_RECORD = 'birth';

/**
 * A birth record: the ticket as it was born, with `"record": "birth"` first and no `status`.
 * Why no status: a birth record is not a ticket in any state; one that said `"status":
 * "pending"` forever made `grep -rl '"status": "pending"' runs/x` list every ticket ever made.
 */
export function serializeBirthRecord(ticket: Ticket): string {
  const ordered: Record<string, unknown> = { record: BIRTH_RECORD };
  for (const key of TICKET_KEY_ORDER) if (key !== 'status') ordered[key] = ticket[key];
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

/**
 * The ticket a birth record describes, as a pending ticket. Reads both forms: the birth record
 * (`"record": "birth"`, no status) and the older copy of the ticket itself (runs committed
 * before birth records had their own form). Errors name the file and the field.
 */
export function parseBirthRecord(text: string, file: string): Ticket {
  let raw: unknown;
  try {
    raw = JSON.parse(stripBom(text));
  } catch {
    // Why parseTicket: its error says what is wrong with the text (git conflict markers ...).
    return parseTicket(text, file);
  }
  if (typeof raw !== 'object' || raw === null || (raw as { record?: unknown }).record !== BIRTH_RECORD) return parseTicket(text, file);
  const fields: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
  delete fields.record;
  const parsed = Ticket.safeParse({ ...fields, status: 'pending' });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TqError('CORRUPT_TICKET', `${file}: ${issue ? formatZodIssue(issue) : 'invalid birth record'}`, {
      file,
      field: issue?.path.join('.') ?? undefined,
      hint: 'a birth record is written once by tq and never edited: restore it from git, or remove it and run `tq fsck <run> --repair`',
    });
  }
  return parsed.data;
}

/**
 * Is `registered` (a birth record's text, either form) the record of the ticket `staged` (a
 * birth's staged copy, as parsed)? What recovery checks before it publishes a stranded birth.
 */
export function isBirthRecordOf(registered: string | undefined, staged: Ticket, stagedText: string): boolean {
  if (registered === undefined) return false;
  return registered === serializeBirthRecord(staged) || registered === stagedText;
}

/**
 * The ticket as it would have been born: its id, stage, input, lineage and key, with no work
 * done. What fsck records for a ticket found without a birth record (added by hand, perhaps
 * already finished): a restore from it makes the ticket be done again, never publishes an old
 * output or claim into pending/.
 */
export function bornFormOf(ticket: Ticket): Ticket {
  return {
    ...ticket,
    status: 'pending',
    output_data: null,
    worker_concerns: [],
    usage: null,
    attempts: 0,
    claim_count: 0,
    claim: null,
    completed_at: null,
    history: [{ at: ticket.created_at, event: 'created', to: 'pending' }],
  };
}
