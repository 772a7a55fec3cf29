import { quarantineAndRestore } from '../core/ops/restore-ticket.js';
import { quarantineFile } from '../core/store/quarantine.js';
import type { TicketLocation } from '../core/store/ticket-location.js';
import { relOf, type DaemonRun, type RunLogEntry } from './daemon-run.js';

/**
 * Quarantine a ticket file the daemon cannot accept (corrupt, not a regular file, content that
 * disagrees with where it is) and restore the ticket from registry/ when it is then nowhere
 * else; log both. `loc` is where the file is (from its path); without one (a name that is no
 * valid ticket id) the file is only quarantined.
 */
export async function quarantineTicketFile(run: DaemonRun, loc: TicketLocation | undefined, path: string, why: string, fields: Omit<RunLogEntry, 'action'> = {}): Promise<void> {
  run.memory.forget(path);
  const r = loc !== undefined ? await quarantineAndRestore(run.ctx, loc, path, why) : { quarantined: await quarantineFile(run.ctx, path, why) };
  const ids = loc !== undefined ? { ticket_id: loc.ticketId } : {};
  if (r.quarantined !== undefined) run.log({ ...ids, ...fields, action: 'quarantined', file: relOf(run, path), note: `${why}; moved to ${relOf(run, r.quarantined)}` });
  if (r.restored !== undefined) run.log({ ...ids, ...fields, action: 'restored', note: `put back into ${relOf(run, r.restored)} from its birth record in registry/ (it will be done again)` });
}
