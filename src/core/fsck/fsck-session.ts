import type { RunCtx } from '../store/run-context.js';
import { quarantineFile } from '../store/quarantine.js';
import type { TicketState } from '../model/states.js';
import type { Ticket } from '../model/ticket-schema.js';

export interface FsckProblem {
  kind:
    | 'corrupt' | 'misnamed' | 'misplaced' | 'stray_file' | 'symlink' | 'duplicate' | 'lost' | 'unregistered'
    | 'cascade_pending' | 'child_missing' | 'unstamped_claim' | 'lease_skew' | 'temp_files' | 'in_flight' | 'status_mismatch';
  file: string;
  message: string;
  ticket_id?: string;
  /** What --repair did about it. */
  repaired?: string;
}

/** What the phases of one fsck share: the run, the mode, and the problems found so far. */
export interface FsckSession {
  ctx: RunCtx;
  repair: boolean;
  settleMs: number;
  /** In the order found; the report lists them so. */
  problems: FsckProblem[];
  /** Files fsck found unacceptable (corrupt, misnamed...): a copy among them does not count as the ticket. */
  unacceptable: Set<string>;
}

/** A valid ticket file in the state directory it belongs to. */
export interface FoundTicket {
  id: string;
  state: TicketState;
  path: string;
  ticket: Ticket;
}

/** The census by ticket id; after the duplicate check, one copy per id. */
export type TicketsById = Map<string, FoundTicket[]>;

export function startFsckSession(ctx: RunCtx, opts: { repair?: boolean; settleMs?: number }): FsckSession {
  return { ctx, repair: opts.repair ?? false, settleMs: opts.settleMs ?? 2000, problems: [], unacceptable: new Set() };
}

/** Report a file the queue cannot accept; with --repair, move it to quarantine/. */
export async function quarantineProblem(s: FsckSession, p: FsckProblem): Promise<void> {
  s.unacceptable.add(p.file);
  if (s.repair) {
    const q = await quarantineFile(s.ctx, p.file, p.message);
    p.repaired = q ? `moved to ${q}` : 'already gone';
  }
  s.problems.push(p);
}
