import { isTqError } from '../model/errors.js';
import { serializeTicket, withHistory } from '../model/serialize-ticket.js';
import { parseBirthRecord } from '../model/birth-record.js';
import { TicketState } from '../model/states.js';
import type { Ticket } from '../model/ticket-schema.js';
import { join } from 'node:path';
import { createFileExclusive, readIfExists, unlinkIfExists } from '../store/atomic-write.js';
import { ticketFileName } from '../store/run-names.js';
import type { RunCtx } from '../store/run-context.js';
import { pathOfLocation, pendingLocationOf, stateLocation, ticketLocationProblem } from '../store/ticket-location.js';
import { registryPath } from './birth-ticket.js';
import { runRelText } from '../store/run-paths.js';

/** What restoring a ticket from its birth record did. */
export type RegistryRestore =
  /** The ticket is in pending/ again, at `path`. */
  | { restored: string }
  /** Nothing was written: `exists` (it reappeared meanwhile), `no_record` or `bad_record`. */
  | { left: 'exists' | 'no_record' | 'bad_record'; message: string };

/** The history entry a restore adds (who restored it and why). */
export interface RestoreEntry {
  event: string;
  note: string;
}

/**
 * Put a ticket that is in no state directory back into pending/ from its birth record
 * (`registry/<stage>/<id>.json`): it will be done again. The path comes from the validated id
 * only; a birth record that is not a valid ticket of that id and stage (damaged, or edited) is
 * never published. The one restore step, shared by fsck --repair and quarantineAndRestore.
 */
export async function restoreFromRegistry(ctx: RunCtx, ticketId: string, entry: RestoreEntry): Promise<RegistryRestore> {
  let loc;
  try {
    loc = stateLocation(TicketState.pending, ticketId);
  } catch (err) {
    if (isTqError(err, 'INVALID_ID')) return { left: 'bad_record', message: err.message };
    throw err;
  }
  const reg = registryPath(ctx, loc.stage, loc.ticketId);
  const text = await readIfExists(ctx, reg);
  if (text === undefined) return { left: 'no_record', message: `no birth record ${reg}` };
  let born: Ticket;
  try {
    born = parseBirthRecord(text, reg);
  } catch (err) {
    // Why: a damaged birth record must not stop the repair of everything else; the caller
    // reports it unrepaired so a human looks at it.
    if (isTqError(err, 'CORRUPT_TICKET')) return { left: 'bad_record', message: err.message };
    throw err;
  }
  const problem = ticketLocationProblem(born, loc, reg);
  if (problem) return { left: 'bad_record', message: problem.message };
  const now = ctx.clock.now().toISOString();
  const restored: Ticket = { ...born, history: withHistory(born, { at: now, event: entry.event, to: TicketState.pending, note: runRelText(ctx.paths, entry.note) }) };
  // Why drop its cascade marker first: the marker belongs to a completion that no longer exists
  // (a commit of a busy run can hold the marker and miss both the completed ticket and its
  // children). Left in place, the re-done ticket's cascade would see "already cascaded" and never
  // make the missing children. Before the restore, so no crash leaves a pending ticket with a
  // stale marker; a marker removed for a ticket that reappeared only costs an idempotent cascade.
  await unlinkIfExists(ctx, join(ctx.paths.cascadeDone, ticketFileName(loc.ticketId))).catch(() => undefined);
  // Why the birth record's lane: it is where the ticket was born (its priority, its not_before).
  const target = pathOfLocation(ctx, pendingLocationOf(loc.ticketId, restored));
  // RACE: created with link (O_EXCL): if the ticket reappeared meanwhile, it is not overwritten.
  const ok = await createFileExclusive(ctx, target, serializeTicket(restored));
  return ok ? { restored: target } : { left: 'exists', message: `${target} reappeared meanwhile; left alone` };
}

/** fsck's words for a restore: what was done, or undefined when the birth record is unusable. */
export function describeRestore(r: RegistryRestore): string | undefined {
  if ('restored' in r) return `restored to ${r.restored}`;
  if (r.left === 'exists') return 'reappeared meanwhile; left alone';
  if (r.left === 'no_record') return 'registry entry vanished';
  return undefined;
}
