import { TicketState } from '../model/states.js';
import { isHandMoved, lastRecordedArrival } from '../model/ticket-history.js';
import { parseTicket, withHistory } from '../model/serialize-ticket.js';
import { stateDir } from '../store/run-context.js';
import { moveTicket } from '../protocol/move-ticket.js';
import { stateLocation } from '../store/ticket-location.js';
import { readEntry } from './read-entry.js';
import { guardEntry } from './guard-entry.js';
import { isUnderUnsafeDir, type FoundTicket, type FsckProblem, type FsckSession, type TicketsById } from './fsck-session.js';

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
  // Why read again: the move is fenced on the text read here (the file it takes must hold exactly
  // this text), never on an older census read.
  const read = await readEntry(ctx, f.path);
  if (read.kind !== 'text') return { done: true, note: 'moved or replaced meanwhile; left alone' };
  const current = parseTicket(read.text, f.path);
  if (current.ticket_id !== f.id || !isHandMoved(current, f.state)) return { done: true, note: 'changed meanwhile; left alone' };
  const at = ctx.clock.now().toISOString();
  const outcome = await moveTicket(ctx, stateLocation(f.state as Exclude<TicketState, 'claimed'>, f.id), {
    to: { state: TicketState.pending },
    acceptStaleStatus: true,
    known: { text: read.text, ticket: current },
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
