import type { ErrorCode } from '../model/errors.js';
import { isTqError } from '../model/errors.js';
import { validateId } from '../model/ids.js';
import { TicketState, type FinishedState } from '../model/states.js';
import type { Ticket } from '../model/ticket-schema.js';
import { finishedCopyOf, locateAll } from '../protocol/locate-ticket.js';
import type { DuplicateOutcome } from '../protocol/move-ticket.js';
import { readTicketAt } from '../store/read-ticket.js';
import type { RunCtx } from '../store/run-context.js';
import { shown, type TicketLocation } from '../store/ticket-location.js';

/** What became of the worker's own file when its content disagreed with its location. */
export interface SetAsideFile {
  /** The CORRUPT_TICKET message: names the file and the field. */
  why: string;
  field?: string;
  quarantined?: string;
  restored?: string;
}

/** Everything known about a worker's move of its ticket that did not happen. */
export interface HoldCheck {
  /** `fail`: record a failed attempt (ops/fail-attempt.ts). */
  action: 'submit' | 'heartbeat' | 'release' | 'fail';
  /** claimed/<worker>/<id>.json: where the worker's ticket should be. */
  loc: Extract<TicketLocation, { state: 'claimed' }>;
  token?: string;
  setAside?: SetAsideFile;
  duplicate?: DuplicateOutcome;
}

export interface Refusal {
  code: ErrorCode;
  message: string;
  hint: string;
  field?: string;
}

const FINISHED_WORDS: Record<FinishedState, string> = { completed: 'completed', failed: 'failed', needs_review: 'submitted for review' };

/**
 * Why a worker's submit, heartbeat or release did not happen, from where the ticket is now (its
 * location is the truth): already finished (ALREADY_DONE), held by another worker (NOT_HOLDER;
 * LEASE_LOST when this worker held it before), its own file was not the ticket (CORRUPT_TICKET),
 * or no longer claimed by this worker (LEASE_LOST).
 */
export async function explainRefusal(ctx: RunCtx, c: HoldCheck): Promise<Refusal> {
  const { ticketId: id, worker } = c.loc;
  const aside = asideNote(c);
  const finished = c.duplicate ? { state: c.duplicate.state, path: c.duplicate.existing } : await finishedCopyOf(ctx, id);
  if (finished) {
    const by = finishedBy(await readTicketAt(ctx, finished.path).catch(() => undefined), worker);
    return {
      code: 'ALREADY_DONE',
      message: `ticket ${id} is already ${FINISHED_WORDS[finished.state]} (${by}): cannot ${verbOf(c.action)} it${aside}`,
      hint: 'claim another ticket; a second result for a finished ticket is never applied',
    };
  }
  const copies = await locateAll(ctx, id);
  const other = copies.find((l) => l.state === TicketState.claimed && l.workerId !== worker);
  if (other?.workerId !== undefined) {
    const holder = await readTicketAt(ctx, other.path).catch(() => undefined);
    const wasOurs = holder?.history.some((h) => h.worker_id === worker) ?? false;
    return {
      code: wasOurs ? 'LEASE_LOST' : 'NOT_HOLDER',
      message: `ticket ${id} is held by ${other.workerId}, not you (${worker})${wasOurs ? ': your claim on it was lost (its lease expired, or it was released or requeued)' : ''}: cannot ${verbOf(c.action)} it${aside}`,
      hint: wasOurs ? 'claim a new ticket' : `submit, heartbeat or release only tickets in claimed/${worker}/, as ${worker}`,
    };
  }
  if (c.setAside) {
    const s = c.setAside;
    return {
      code: 'CORRUPT_TICKET',
      message: `cannot ${verbOf(c.action)} ${id}: ${s.why}; the file was ${s.quarantined ? `quarantined as ${s.quarantined}` : 'gone'}${s.restored ? `, and the ticket put back into pending/ from its birth record (${s.restored})` : ''}`,
      hint: 'a claimed ticket file must not be edited: claim a new ticket',
      ...(s.field !== undefined ? { field: s.field } : {}),
    };
  }
  return {
    code: 'LEASE_LOST',
    message: `cannot ${verbOf(c.action)} ${id}: it is not claimed by ${worker}${c.token ? ` with token ${c.token}` : ''} any more (its lease expired, or it was released or requeued)`,
    hint: `claim a new ticket; see where it is with \`tq show ${ctx.runId} ${id}\``,
  };
}

/** The action as the refusal says it: "cannot submit it", "cannot record a failed attempt of it". */
function verbOf(action: HoldCheck['action']): string {
  return action === 'fail' ? 'record a failed attempt of' : action;
}

function asideNote(c: HoldCheck): string {
  if (c.duplicate) return `; your copy was a duplicate${c.duplicate.quarantined ? `, quarantined as ${c.duplicate.quarantined}` : ''}`;
  if (c.setAside) return `; your copy was not the ticket (${c.setAside.why})${c.setAside.quarantined ? `, quarantined as ${c.setAside.quarantined}` : ''}`;
  return '';
}

/** Who finished a ticket, as the refusal says it (the worker id read from the file only if it is a valid id). */
function finishedBy(t: Ticket | undefined, worker: string): string {
  const w = t?.claim?.worker_id;
  if (w === worker) return 'by you';
  if (w === undefined) return 'by another worker';
  try {
    validateId(w, 'worker id');
    return `by ${w}`;
  } catch (err) {
    if (!isTqError(err, 'INVALID_ID')) throw err;
    return `by a worker named ${shown(w)}`;
  }
}
