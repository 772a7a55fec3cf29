import { maxAttemptsOf } from '../model/pipeline.js';
import { withHistory } from '../model/serialize-ticket.js';
import { TicketState } from '../model/states.js';
import type { Ticket } from '../model/ticket-schema.js';
import type { RunCtx } from '../store/run-context.js';
import { readTicketAtLocation } from '../store/read-ticket.js';
import { heldLocation, refusalError, tryMoveHeldTicket, type HeldLocation, type WorkerMoveOptions } from './worker-moves.js';

export interface FailAttemptOptions extends WorkerMoveOptions {
  /** What went wrong, in one line: "exit code 2", "timed out after 30s", "stdout is not JSON: ...". */
  error: string;
  /** The end of the program's stderr, kept on the ticket with the error. */
  stderrTail?: string;
}

export interface FailAttemptResult {
  ticket: Ticket;
  path: string;
  /** pending: it will be claimed again; failed: it used its last attempt. */
  state: typeof TicketState.pending | typeof TicketState.failed;
  /** Attempts used so far, this one included, and the stage's max_attempts. */
  attempts: number;
  maxAttempts: number;
}

/** How much of an error and of a stderr tail a ticket keeps (the whole stderr is in logs/). */
export const MAX_ERROR_CHARS = 500;
export const MAX_STDERR_TAIL_CHARS = 2000;

/**
 * A worker tried a ticket it holds and the try failed (the program exited non-zero, printed
 * something that is not an output, timed out). Fenced like a release: refused (LEASE_LOST,
 * NOT_HOLDER, ALREADY_DONE, CORRUPT_TICKET) when the worker no longer holds it. The attempt
 * counts, as an expired claim does: attempts + 1; the ticket goes back to pending/, or to
 * failed/ once attempts reach the stage's max_attempts (with an error concern saying why). The
 * error and the stderr tail are kept on the ticket as its history entry's note.
 */
export async function failAttempt(ctx: RunCtx, opts: FailAttemptOptions): Promise<FailAttemptResult> {
  const loc = heldLocation(opts.ticketId, opts.workerId);
  const workerId = loc.worker;
  const max = maxAttemptsOf(ctx.config.pipeline, loc.stage);
  const at = ctx.clock.now().toISOString();
  const note = attemptNote(opts.error, opts.stderrTail);
  // Why read first: the target directory depends on the attempt count. It cannot change while
  // the ticket stays in claimed/<worker>/ under this claim (only a move out of it counts an
  // attempt), and the fenced move below re-reads the same version or refuses.
  const state = await targetState(ctx, loc, max);
  const build = (t: Ticket): Ticket => {
    const attempts = t.attempts + 1;
    const entry = { at, event: 'attempt failed', from: 'claimed', to: state, worker_id: workerId, note: `attempt ${attempts} of ${max}: ${note}` };
    if (state === TicketState.pending) return { ...t, status: 'pending', attempts, claim: null, history: withHistory(t, entry) };
    const concern = { level: 'error' as const, message: `gave up after ${attempts} attempts; the last one failed: ${clip(opts.error, MAX_ERROR_CHARS)}`, suggestion: 'see its history and logs (`tq show`), then `tq requeue` once the cause is fixed', worker_id: workerId, at };
    return { ...t, status: 'failed', attempts, completed_at: at, worker_concerns: [...t.worker_concerns, concern], history: withHistory(t, entry) };
  };
  const moved = await tryMoveHeldTicket(ctx, loc, opts.token, { state }, build);
  if (moved.moved) return { ticket: moved.ticket, path: moved.path, state, attempts: moved.ticket.attempts, maxAttempts: max };
  const check = { action: 'fail' as const, loc, ...(opts.token ? { token: opts.token } : {}), ...(moved.duplicate ? { duplicate: moved.duplicate } : {}), ...(moved.setAside ? { setAside: moved.setAside } : {}) };
  throw await refusalError(ctx, check);
}

/** pending/ while attempts remain, failed/ for the last one; pending/ when the file cannot be read (the move then says why). */
async function targetState(ctx: RunCtx, loc: HeldLocation, max: number): Promise<FailAttemptResult['state']> {
  try {
    const { ticket } = await readTicketAtLocation(ctx, loc);
    return ticket.attempts + 1 >= max ? TicketState.failed : TicketState.pending;
  } catch {
    return TicketState.pending;
  }
}

function clip(text: string, max: number): string {
  const t = text.trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

/** The error, and the last MAX_STDERR_TAIL_CHARS of stderr (cut at a line start when one is near). */
export function attemptNote(error: string, stderrTail?: string): string {
  const e = clip(error, MAX_ERROR_CHARS) || 'failed';
  const tail = (stderrTail ?? '').trimEnd();
  if (tail === '') return e;
  let kept = tail.length > MAX_STDERR_TAIL_CHARS ? tail.slice(-MAX_STDERR_TAIL_CHARS) : tail;
  const nl = kept.indexOf('\n');
  if (tail.length > MAX_STDERR_TAIL_CHARS && nl >= 0 && nl < 200) kept = kept.slice(nl + 1);
  return `${e}\nstderr (last lines):\n${kept}`;
}
