import { TicketState } from '../model/states.js';
import type { Ticket } from '../model/ticket-schema.js';
import { parseTicket, withHistory } from '../model/serialize-ticket.js';
import { stateDir } from '../store/run-context.js';
import { moveTicket } from '../protocol/move-ticket.js';
import { readEntry } from './read-entry.js';
import { guardEntry } from './guard-entry.js';
import { isUnderUnsafeDir, type FoundTicket, type FsckProblem, type FsckSession, type TicketsById } from './fsck-session.js';

const FINISHED_STATES: readonly TicketState[] = [TicketState.completed, TicketState.failed, TicketState.needs_review];

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
  return FINISHED_STATES.includes(state) && lastRecordedArrival(ticket) !== state;
}

/**
 * Tickets in a finished state with no submit (or other move into it) in their history: reported,
 * never cascaded; --repair requeues each into pending/ (a fenced move, recorded in its history).
 * Run after the duplicate check, so a ticket is only ever requeued from its one copy.
 */
export async function checkHandMoved(s: FsckSession, byId: TicketsById): Promise<void> {
  for (const [id, [f]] of byId) {
    if (!f || !isHandMoved(f.ticket, f.state)) continue;
    await guardEntry(s, f.path, id, async () => {
      const p: FsckProblem = {
        kind: 'hand_moved',
        file: f.path,
        ticket_id: id,
        message: `${f.path}: ticket ${id} is in ${f.state}/ but its history has no submit into ${f.state} (last moved to ${lastRecordedArrival(f.ticket) ?? 'nowhere'}): moved by hand? It is not cascaded`,
      };
      if (s.repair) {
        const requeued = await requeueHandMoved(s, f);
        if (requeued.done) p.repaired = requeued.note;
        else p.message += `; ${requeued.note}`;
        if (requeued.now) byId.set(id, [requeued.now]);
      }
      s.problems.push(p);
    });
  }
}

/** `done`: the problem is gone (requeued, or the file moved on); otherwise `note` says why not. */
async function requeueHandMoved(s: FsckSession, f: FoundTicket): Promise<{ done: boolean; note: string; now?: FoundTicket }> {
  const { ctx } = s;
  const stage = f.ticket.worker_type;
  const pending = stateDir(ctx, TicketState.pending, stage);
  if (isUnderUnsafeDir(s, pending)) return { done: false, note: `not requeued: ${pending} is not a real directory` };
  // Why read again: the move is fenced on the inode and text read here, never on an older census read.
  const read = await readEntry(ctx, f.path);
  if (read.kind !== 'text') return { done: true, note: 'moved or replaced meanwhile; left alone' };
  const current = parseTicket(read.text, f.path);
  if (current.ticket_id !== f.id || !isHandMoved(current, f.state)) return { done: true, note: 'changed meanwhile; left alone' };
  const at = ctx.clock.now().toISOString();
  const outcome = await moveTicket(ctx, f.path, {
    known: { text: read.text, ino: read.ino, ticket: current },
    build: (t) => ({
      ...t,
      // Why set from the location: the target directory is never chosen by what a file says.
      ticket_id: f.id,
      worker_type: stage,
      status: TicketState.pending,
      claim: null,
      output_data: null,
      usage: null,
      completed_at: null,
      history: withHistory(t, { at, event: 'requeued by fsck', from: f.state, to: TicketState.pending, note: `found in ${f.state}/ with no submit in its history (moved by hand?)` }),
    }),
  });
  if (!outcome.moved) return { done: true, note: 'moved meanwhile; left alone' };
  return { done: true, note: `requeued to ${outcome.path}`, now: { id: f.id, state: TicketState.pending, path: outcome.path, ticket: outcome.ticket } };
}
