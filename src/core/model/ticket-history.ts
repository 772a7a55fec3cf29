import { FINISHED_STATES, type TicketState } from './states.js';
import type { Ticket } from './ticket-schema.js';

/** The state the ticket's history last says it moved to (the `to` of the newest entry that has one). */
export function lastRecordedArrival(ticket: Ticket): string | undefined {
  for (let i = ticket.history.length - 1; i >= 0; i -= 1) {
    const to = ticket.history[i]?.to;
    if (to !== undefined) return to;
  }
  return undefined;
}

/**
 * Is this ticket in a finished state (completed/, failed/, needs_review/) it never moved into?
 * Every way into one records it in the history (submitted, approved, reaped into failed), and
 * nothing is recorded after it but a move out; a file moved by hand (`mv pending/... completed/`)
 * still says it was last moved to pending. Why it matters: a completed ticket is cascaded, and
 * one that was never worked on would make children from an empty output.
 */
export function isHandMoved(ticket: Ticket, state: TicketState): boolean {
  return (FINISHED_STATES as readonly TicketState[]).includes(state) && lastRecordedArrival(ticket) !== state;
}
