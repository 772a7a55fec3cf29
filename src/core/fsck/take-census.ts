import { join } from 'node:path';
import { isTqError } from '../model/errors.js';
import { LANES_DIR_NAME, isAgentSideFileName, ticketIdOfFileName } from '../store/run-names.js';
import { parseLaneName } from '../model/lanes.js';
import { ALL_STATES, TicketState } from '../model/states.js';
import { parseTicket } from '../model/serialize-ticket.js';
import { listDir } from '../store/atomic-write.js';
import { locationOfRelPath, ticketLocationProblem, type TicketLocation } from '../store/ticket-location.js';
import type { Ticket } from '../model/ticket-schema.js';
import { lstatEntry, readEntry } from './read-entry.js';
import { guardEntry } from './guard-entry.js';
import { forEachLimited } from './for-each-limited.js';
import { specialEntryProblem } from './check-special-entries.js';
import { isHandMoved } from '../model/ticket-history.js';
import { isUnderUnsafeDir, quarantineProblem, type FoundTicket, type FsckProblem, type FsckSession } from './fsck-session.js';

/** Files of one directory the census reads at the same time. */
const CENSUS_READS_IN_FLIGHT = 16;

/**
 * List every state directory and read every ticket in it. An entry that is not a valid ticket
 * in the right place (symlink, FIFO or other special file, directory, stray, corrupt, misnamed,
 * misplaced, content that disagrees with its location) is reported, and quarantined with
 * --repair; a directory that is not a stage is reported. Each entry is checked on its own: one
 * that cannot be checked is reported and the census goes on. Returns the valid tickets.
 */
export async function takeCensus(s: FsckSession): Promise<FoundTicket[]> {
  const found: FoundTicket[] = [];
  for (const state of ALL_STATES) {
    const top = join(s.ctx.paths.dir, state);
    if (isUnderUnsafeDir(s, top)) continue;
    await guardEntry(s, top, undefined, async () => {
      for (const sub of await listDir(s.ctx, top)) await guardEntry(s, join(top, sub), undefined, () => censusSubdir(s, state, sub, found));
    });
  }
  return found;
}

/** One <state>/<stage>/ or claimed/<worker>/ directory. */
async function censusSubdir(s: FsckSession, state: TicketState, sub: string, found: FoundTicket[]): Promise<void> {
  const subPath = join(s.ctx.paths.dir, state, sub);
  const what = await lstatEntry(s.ctx, subPath);
  if (what === undefined) return;
  if (what === 'symlink') {
    // The link itself is quarantined (renamed), never what it points to.
    const p: FsckProblem = { kind: 'symlink', file: subPath, message: `${subPath} is a symlink; ticketq never follows links out of a run` };
    await quarantineProblem(s, p);
    if (p.repaired === undefined) s.unsafeDirs.add(subPath);
    return;
  }
  if (what !== 'directory') {
    const p: FsckProblem = { kind: 'misplaced', file: subPath, message: `${subPath} is a ${what} directly in ${state}/; tickets live in ${state}/${state === TicketState.claimed ? '<worker-id>' : '<stage>'}/` };
    await quarantineProblem(s, p);
    if (p.repaired === undefined) s.unsafeDirs.add(subPath);
    return;
  }
  if (state !== TicketState.claimed && !Object.hasOwn(s.ctx.config.pipeline.stages, sub)) {
    s.problems.push({ kind: 'stray_file', file: subPath, message: `${subPath}: "${sub}" is not a stage of this run` });
    return;
  }
  await censusFiles(s, state, sub, found);
}

/** Every entry of <state>/<sub>/ (sub: a stage, a worker, or `<stage>/lanes/<lane>` in pending/). */
async function censusFiles(s: FsckSession, state: TicketState, sub: string, found: FoundTicket[]): Promise<void> {
  const subPath = join(s.ctx.paths.dir, state, sub);
  // Why several at once: entries are independent, and each read waits on the thread pool.
  await forEachLimited(await listDir(s.ctx, subPath), CENSUS_READS_IN_FLIGHT, (name) =>
    guardEntry(s, join(subPath, name), ticketIdOfFileName(name), async () => {
      if (state === TicketState.pending && name === LANES_DIR_NAME && !sub.includes('/')) return censusLanes(s, sub, found);
      const f = await readCensusFile(s, state, sub, name);
      if (f) found.push(f);
    }),
  );
}

/**
 * pending/<stage>/lanes/: each entry must be a real directory with a lane's name (model/lanes.ts)
 * holding tickets. Anything else is reported and quarantined with --repair: claims never look
 * into it, so its tickets are restored from registry/ (check-registry.ts) rather than left stuck.
 */
async function censusLanes(s: FsckSession, stage: string, found: FoundTicket[]): Promise<void> {
  const lanes = join(s.ctx.paths.dir, TicketState.pending, stage, LANES_DIR_NAME);
  if (!(await acceptDirectory(s, lanes, `pending/${stage}/${LANES_DIR_NAME} must be a directory of lanes`))) return;
  for (const lane of await listDir(s.ctx, lanes)) {
    const path = join(lanes, lane);
    await guardEntry(s, path, undefined, async () => {
      if (!(await acceptDirectory(s, path, `entries of pending/${stage}/${LANES_DIR_NAME}/ are lane directories`))) return;
      if (parseLaneName(lane) === undefined) {
        await quarantineProblem(s, { kind: 'stray_file', file: path, message: `${path}: "${lane}" is not a lane (lanes are named p<priority> or p<priority>.due-<yyyymmddThhmmssZ>); claims never look into it` });
        return;
      }
      await censusFiles(s, TicketState.pending, `${stage}/${LANES_DIR_NAME}/${lane}`, found);
    });
  }
}

/** A directory the census walks into: true when it is a real one; a link or a file in its place is reported and quarantined with --repair. */
async function acceptDirectory(s: FsckSession, path: string, rule: string): Promise<boolean> {
  const what = await lstatEntry(s.ctx, path);
  if (what === undefined || what === 'directory') return what === 'directory';
  const p: FsckProblem =
    what === 'symlink'
      ? { kind: 'symlink', file: path, message: `${path} is a symlink; ticketq never follows links out of a run` }
      : { kind: 'misplaced', file: path, message: `${path} is a ${what}: ${rule}` };
  await quarantineProblem(s, p);
  if (p.repaired === undefined) s.unsafeDirs.add(path);
  return false;
}

/** One entry of <state>/<sub>/: the ticket it holds, or undefined (skipped, gone, or reported). */
async function readCensusFile(s: FsckSession, state: TicketState, sub: string, name: string): Promise<FoundTicket | undefined> {
  const path = join(s.ctx.paths.dir, state, sub, name);
  const stage = sub.split('/')[0] as string;
  const id = ticketIdOfFileName(name);
  // Why lstat before anything, whatever the name: a FIFO is never opened, a link never followed.
  const special = specialEntryProblem(path, await lstatEntry(s.ctx, path), id);
  if (special) {
    await quarantineProblem(s, special);
    return undefined;
  }
  if (name.startsWith('.')) return undefined;
  if (state === TicketState.claimed && isAgentSideFileName(name)) return undefined;
  if (id === undefined) {
    await quarantineProblem(s, { kind: 'stray_file', file: path, message: `${path} is not a ticket file (<ticket-id>.json)` });
    return undefined;
  }
  const ticket = await readCensusTicket(s, path, id);
  if (!ticket) return undefined;
  const loc = locationOfRelPath(`${state}/${sub}/${name}`);
  if (!loc) {
    const why = state !== TicketState.claimed && ticket.worker_type !== stage ? `field worker_type is "${ticket.worker_type}" but the file is in ${state}/${sub}/` : `ticket ${id} cannot be in ${state}/${sub}/ (an invalid id, or not the directory of the stage its id names)`;
    await quarantineProblem(s, { kind: 'misplaced', file: path, ticket_id: id, message: `${path}: ${why}` });
    return undefined;
  }
  return (await acceptLocation(s, ticket, loc, path)) ? { id, state, path, ticket } : undefined;
}

/** Read and parse one ticket file; a file that is not one is reported (and quarantined with --repair). */
async function readCensusTicket(s: FsckSession, path: string, id: string): Promise<Ticket | undefined> {
  const read = await readEntry(s.ctx, path);
  // RACE: moved on since we listed it; the census of its new place counts it.
  if (read.kind === 'gone') return undefined;
  if (read.kind === 'not_file') {
    await quarantineProblem(s, specialEntryProblem(path, read.what, id) ?? { kind: 'special_file', file: path, ticket_id: id, message: `${path} is not a regular file` });
    return undefined;
  }
  if (read.kind === 'too_big') {
    await quarantineProblem(s, { kind: 'corrupt', file: path, ticket_id: id, message: `${path} is too big to be a ticket` });
    return undefined;
  }
  try {
    return parseTicket(read.text, path);
  } catch (err) {
    if (!isTqError(err, 'CORRUPT_TICKET')) throw err;
    await quarantineProblem(s, { kind: 'corrupt', file: path, ticket_id: id, message: err.message });
    return undefined;
  }
}

/**
 * Does the ticket's content agree with where it is (ticketLocationProblem)? A disagreeing one is
 * reported and quarantined with --repair: the location is the truth, and check-registry.ts then
 * restores the ticket from registry/ if it is nowhere else. Two states are accepted as they are:
 * a ticket in a finished state it never moved into (check-hand-moved.ts requeues it), and a claim
 * not stamped yet (status still pending, no claim record: check-claims.ts adopts it).
 */
async function acceptLocation(s: FsckSession, ticket: Ticket, loc: TicketLocation, path: string): Promise<boolean> {
  const problem = ticketLocationProblem(ticket, loc, path);
  if (!problem) return true;
  const id = loc.ticketId;
  if (problem.field === 'ticket_id') {
    await quarantineProblem(s, { kind: 'misnamed', file: path, ticket_id: id, message: problem.message });
    return false;
  }
  if (problem.field === 'worker_type') {
    await quarantineProblem(s, { kind: 'misplaced', file: path, ticket_id: id, message: problem.message });
    return false;
  }
  if (isHandMoved(ticket, loc.state)) return true;
  if (loc.state === TicketState.claimed && ticket.status === TicketState.pending && ticket.claim === null) return true;
  await quarantineProblem(s, { kind: 'status_mismatch', file: path, ticket_id: id, message: `${problem.message} (the directory is the truth: the ticket is restored from registry/ if it is nowhere else)` });
  return false;
}
