import { join } from 'node:path';
import { stageOfTicketId } from '../model/ids.js';
import { ALL_STATES, TicketState } from '../model/states.js';
import { listDir } from '../store/atomic-write.js';
import { claimedDir, stateDir } from '../store/run-context.js';
import { LANES_DIR_NAME, ticketFileName } from '../store/run-names.js';
import { parseLaneName } from '../model/lanes.js';
import type { LocatedTicket } from '../protocol/locate-ticket.js';
import { claimedLocation, stateLocation } from '../store/ticket-location.js';
import { lstatEntry } from './read-entry.js';
import { isUnderUnsafeDir, type FsckSession } from './fsck-session.js';

/**
 * Every place of the run where a ticket id has a regular file, looking only through real
 * directories. Why not locateAll: it looks through a symlinked claimed/<worker>/ (lstat follows
 * every directory component), and fsck would count, or move, a file outside the run as a copy.
 */
export async function locateSafely(s: FsckSession, ticketId: string): Promise<LocatedTicket[]> {
  const file = ticketFileName(ticketId);
  const found: LocatedTicket[] = [];
  for (const state of ALL_STATES) {
    const top = join(s.ctx.paths.dir, state);
    if (!(await isRealDir(s, top))) continue;
    if (state === TicketState.claimed) {
      for (const worker of await listDir(s.ctx, top)) {
        const dir = claimedDir(s.ctx, worker);
        if ((await isRealDir(s, dir)) && (await lstatEntry(s.ctx, join(dir, file))) === 'file') found.push({ ticketId, state, path: join(dir, file), workerId: worker, loc: claimedLocation(ticketId, worker) });
      }
    } else {
      const dir = stateDir(s.ctx, state, stageOfTicketId(ticketId));
      if ((await isRealDir(s, dir)) && (await lstatEntry(s.ctx, join(dir, file))) === 'file') found.push({ ticketId, state, path: join(dir, file), loc: stateLocation(state, ticketId) });
      if (state === TicketState.pending) found.push(...(await locateInLanes(s, ticketId, dir)));
    }
  }
  return found;
}

/** The copies of a ticket in the lanes of pending/<stage>/ (`stageDir`), through real directories only. */
async function locateInLanes(s: FsckSession, ticketId: string, stageDir: string): Promise<LocatedTicket[]> {
  const lanes = join(stageDir, LANES_DIR_NAME);
  if (!(await isRealDir(s, stageDir)) || !(await isRealDir(s, lanes))) return [];
  const found: LocatedTicket[] = [];
  for (const lane of await listDir(s.ctx, lanes)) {
    const dir = join(lanes, lane);
    if (parseLaneName(lane) === undefined || !(await isRealDir(s, dir))) continue;
    const path = join(dir, ticketFileName(ticketId));
    if ((await lstatEntry(s.ctx, path)) === 'file') found.push({ ticketId, state: TicketState.pending, path, loc: stateLocation(TicketState.pending, ticketId, lane) });
  }
  return found;
}

async function isRealDir(s: FsckSession, dir: string): Promise<boolean> {
  return !isUnderUnsafeDir(s, dir) && (await lstatEntry(s.ctx, dir)) === 'directory';
}
