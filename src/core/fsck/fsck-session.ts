import { sep } from 'node:path';
import type { RunCtx } from '../store/run-context.js';
import { quarantineFile } from '../store/quarantine.js';
import type { TicketState } from '../model/states.js';
import type { Ticket } from '../model/ticket-schema.js';

export interface FsckProblem {
  kind:
    | 'corrupt' | 'misnamed' | 'misplaced' | 'stray_file' | 'symlink' | 'duplicate' | 'lost' | 'unregistered'
    | 'cascade_pending' | 'child_missing' | 'unstamped_claim' | 'lease_skew' | 'temp_files' | 'in_flight' | 'status_mismatch'
    | 'hand_moved' | 'special_file' | 'not_a_directory' | 'check_failed';
  file: string;
  message: string;
  ticket_id?: string;
  /** What --repair did about it. */
  repaired?: string;
}

/** What the phases of one fsck share: the run, the mode, and the problems found so far. */
export interface FsckSession {
  ctx: RunCtx;
  /**
   * May fsck change the run? Turned off mid-run when a change could reach outside the run (a
   * directory of the run's skeleton is a symlink) or touch an entry that could hang it.
   */
  repair: boolean;
  settleMs: number;
  /** In the order found; the report lists them so. */
  problems: FsckProblem[];
  /** Files fsck found unacceptable (corrupt, misnamed...): a copy among them does not count as the ticket. */
  unacceptable: Set<string>;
  /**
   * Directories of the run that are not real directories (symlinks, files) and are still there:
   * nothing is listed, read, moved or deleted through them.
   */
  unsafeDirs: Set<string>;
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
  return { ctx, repair: opts.repair ?? false, settleMs: opts.settleMs ?? 2000, problems: [], unacceptable: new Set(), unsafeDirs: new Set() };
}

/** Is `path` one of the unsafe directories, or inside one? */
export function isUnderUnsafeDir(s: FsckSession, path: string): boolean {
  for (const dir of s.unsafeDirs) if (path === dir || path.startsWith(`${dir}${sep}`)) return true;
  return false;
}

/**
 * Stop every repair that follows, saying why in a problem of its own. Why: some states of a
 * run (an entry fsck could not quarantine, a symlinked directory) make any further change
 * unsafe; reporting everything and changing nothing is always safe.
 */
export function stopRepairs(s: FsckSession, file: string, why: string): void {
  if (!s.repair) return;
  s.repair = false;
  s.problems.push({ kind: 'check_failed', file, message: `--repair stopped: ${why}; the problems below are only reported` });
}

/**
 * Report a file the queue cannot accept; with --repair, move it to quarantine/. A file that
 * cannot be quarantined stays reported, and stops the repairs (a later phase could trip on it).
 */
export async function quarantineProblem(s: FsckSession, p: FsckProblem): Promise<void> {
  s.unacceptable.add(p.file);
  if (s.repair) {
    try {
      const q = await quarantineFile(s.ctx, p.file, p.message);
      p.repaired = q ? `moved to ${q}` : 'already gone';
    } catch (err) {
      s.problems.push(p);
      stopRepairs(s, p.file, `could not quarantine ${p.file} (${(err as Error).message})`);
      return;
    }
  }
  s.problems.push(p);
}
