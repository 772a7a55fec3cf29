import { TqError } from './errors.js';
import { Ticket, TICKET_KEY_ORDER, HISTORY_LIMIT, type HistoryEntry } from './ticket-schema.js';
import { formatZodIssue } from './zod-messages.js';

/** Pretty-printed, stable key order, trailing newline: small git diffs. */
export function serializeTicket(ticket: Ticket): string {
  // Why: a ticket built by the queue (parsed, or spread from a parsed one) usually has its keys in
  // the schema's order already; reordering a copy then cost ~20% of the serialization.
  if (isInKeyOrder(ticket)) return `${JSON.stringify(ticket, null, 2)}\n`;
  const ordered: Record<string, unknown> = {};
  // Why skip undefined: optional fields (priority, not_before ...) are mostly absent, and
  // properties holding undefined made every serialization measurably slower (JSON drops them anyway).
  for (const key of TICKET_KEY_ORDER) {
    const value = ticket[key];
    if (value !== undefined) ordered[key] = value;
  }
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

/** Where each ticket key goes on disk (TICKET_KEY_ORDER). */
const KEY_RANK: ReadonlyMap<string, number> = new Map(TICKET_KEY_ORDER.map((k, i) => [k, i]));

/** Does `ticket` hold only schema keys, none undefined, in TICKET_KEY_ORDER (what serializeTicket writes)? */
function isInKeyOrder(ticket: Ticket): boolean {
  if (Object.getPrototypeOf(ticket) !== Object.prototype) return false;
  let last = -1;
  // Why for-in: V8's enum cache walks the keys without making an array (Object.prototype has no enumerable keys).
  for (const key in ticket) {
    const rank = KEY_RANK.get(key);
    if (rank === undefined || rank < last || (ticket as Record<string, unknown>)[key] === undefined) return false;
    last = rank;
  }
  return true;
}

/** Parse a ticket file's text; errors name the file and the field. */
export function parseTicket(text: string, file: string): Ticket {
  let raw: unknown;
  try {
    raw = JSON.parse(stripBom(text));
  } catch (err) {
    const conflict = /^(<<<<<<<|=======|>>>>>>>) /m.test(text) ? ' (it has git conflict markers: resolve the merge)' : '';
    throw new TqError('CORRUPT_TICKET', `${file}: not valid JSON${conflict}: ${(err as Error).message}`, {
      file,
      hint: 'fix or remove the file by hand, then run `tq fsck <run>`',
    });
  }
  const parsed = Ticket.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TqError('CORRUPT_TICKET', `${file}: ${issue ? formatZodIssue(issue) : 'invalid ticket'}`, {
      file,
      field: issue?.path.join('.') ?? undefined,
      hint: 'fix the field by hand, then run `tq fsck <run>`',
    });
  }
  return parsed.data;
}

export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Append a history entry, keeping only the newest HISTORY_LIMIT. */
export function withHistory(ticket: Ticket, entry: HistoryEntry): HistoryEntry[] {
  const history = [...ticket.history, entry];
  return history.length > HISTORY_LIMIT ? history.slice(history.length - HISTORY_LIMIT) : history;
}
