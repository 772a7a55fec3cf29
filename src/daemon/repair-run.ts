import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { errnoCode, ioError, isTqError } from '../core/model/errors.js';
import { listDir, streamDirEntries } from '../core/store/atomic-write.js';
import { recoverMoving } from '../core/protocol/recover-moving.js';
import { UNSTAMPED_GRACE_MS, reapOne } from '../core/ops/reap-claims.js';
import { leaseVerdict } from '../core/protocol/lease.js';
import { quarantineFile } from '../core/store/quarantine.js';
import { parseTicket } from '../core/model/serialize-ticket.js';
import type { Ticket } from '../core/model/ticket-schema.js';
import { ticketIdOfFileName } from '../core/store/run-names.js';
import { claimedDir } from '../core/store/run-context.js';
import { claimedLocation, ticketLocationProblem, type TicketLocation } from '../core/store/ticket-location.js';
import { TicketState } from '../core/model/states.js';
import { MAX_RECORD_BYTES } from '../core/model/json-limits.js';
import { errorLogOf, linkedDirOnPath, noteOnce, nowMs, relOf, type DaemonRun } from './daemon-run.js';
import { quarantineTicketFile } from './quarantine-ticket.js';

/**
 * Finish what crashed movers left in moving/. It waits settle.movingMs to tell crashed moves
 * from live ones, so it runs beside the other work (one at a time per run), not in its way.
 */
export function startRecovery(run: DaemonRun): Promise<void> {
  if (run.recovering) return run.recovering;
  const p = (async () => {
    try {
      // Why first: recovery reads every file in moving/, and only regular files can be moves.
      if (!(await clearOddMovingEntries(run))) return;
      for (const a of await recoverMoving(run.ctx, run.settle.movingMs)) {
        run.log({ action: `recovered: ${a.action}`, ...(a.ticket_id ? { ticket_id: a.ticket_id } : {}), file: a.file });
      }
    } catch (err) {
      run.log({ action: 'error', note: 'recovering moving/ failed; retried on the next pass', error: errorLogOf(err) });
    } finally {
      run.recovering = undefined;
    }
  })();
  run.recovering = p;
  return p;
}

/**
 * Quarantine what in moving/ is not a regular file (a FIFO, a socket, a directory, a link: no
 * mover makes those), so that recovery never opens it. False when moving/ itself is not a real
 * directory of the run: then nothing is recovered (the log says why).
 */
async function clearOddMovingEntries(run: DaemonRun): Promise<boolean> {
  const dir = run.ctx.paths.moving;
  const linked = await linkedDirOnPath(run.ctx, dir);
  if (linked !== undefined) {
    noteOnce(run, `linked\0${linked}`, { action: 'error', file: relOf(run, linked), note: `${relOf(run, linked)} is not a real directory (a symbolic link?): moving/ is not recovered until it is one` });
    return false;
  }
  // A missing moving/ lists nothing: nothing is in flight.
  const odd: string[] = [];
  await streamDirEntries(run.ctx, dir, (e) => {
    if (!e.isFile()) odd.push(e.name);
  });
  for (const name of odd) {
    const path = join(dir, name);
    try {
      const why = `${relOf(run, path)} is not a regular file; no move or birth is ever one`;
      const q = await quarantineFile(run.ctx, path, why);
      if (q) run.log({ action: 'quarantined', file: relOf(run, path), note: `${why}; moved to ${relOf(run, q)}` });
    } catch (err) {
      run.log({ action: 'error', file: relOf(run, path), note: 'could not quarantine; retried on the next pass', error: errorLogOf(err) });
    }
  }
  return true;
}

/**
 * Return expired claims (the reaper); log what it did. What reapExpired does, with a memory:
 * a claim whose lease was read and found good is read again only once that lease has ended, or
 * once a watcher event named its file (the daemon deletes its entry then); `full` reads every
 * claim again. So a claim replaced under the same name by one with an earlier lease, whose
 * event was lost, is reaped by the next full pass at the latest (see docs/protocol.md).
 * Each worker directory and each claim is handled on its own: one bad entry is logged (or
 * quarantined) and the others are still reaped.
 */
export async function reapRun(run: DaemonRun, full: boolean): Promise<void> {
  const ctx = run.ctx;
  const top = join(ctx.paths.dir, TicketState.claimed);
  const linked = await linkedDirOnPath(ctx, top);
  if (linked !== undefined) {
    noteOnce(run, `linked\0${linked}`, { action: 'error', file: relOf(run, linked), note: `${relOf(run, linked)} is not a real directory (a symbolic link?): no claim is reaped until it is one` });
    run.claimDue.clear();
    return;
  }
  const seen = new Set<string>();
  for (const worker of await listDir(ctx, top)) {
    try {
      await reapWorker(run, worker, full, seen);
    } catch (err) {
      run.log({ action: 'error', worker_id: worker, note: `reaping claimed/${worker}/ failed; retried on the next pass`, error: errorLogOf(err) });
    }
  }
  for (const key of run.claimDue.keys()) if (!seen.has(key)) run.claimDue.delete(key);
}

async function reapWorker(run: DaemonRun, worker: string, full: boolean, seen: Set<string>): Promise<void> {
  const dir = claimedDir(run.ctx, worker);
  const linked = await linkedDirOnPath(run.ctx, dir);
  if (linked !== undefined) {
    // Why left alone: a link here may point out of the run; fsck reports it.
    noteOnce(run, `linked\0${linked}`, { action: 'error', file: relOf(run, linked), note: `${relOf(run, linked)} is not a real directory (a symbolic link or a file?): left alone, not reaped` });
    return;
  }
  for (const name of await listDir(run.ctx, dir)) {
    const ticketId = ticketIdOfFileName(name);
    if (ticketId === undefined) continue;
    const key = `${worker}/${name}`;
    seen.add(key);
    if (run.stopping) continue;
    const due = run.claimDue.get(key);
    if (!full && due !== undefined && due > nowMs(run)) continue;
    try {
      await reapClaim(run, dir, worker, name, ticketId);
    } catch (err) {
      run.claimDue.delete(key);
      run.log({ action: 'error', worker_id: worker, ticket_id: ticketId, file: `${TicketState.claimed}/${worker}/${name}`, note: 'reaping this claim failed; retried on the next pass', error: errorLogOf(err) });
    }
  }
}

/** Look at one claim: quarantine (and restore) what is no good claim, note a live lease, reap the rest. */
async function reapClaim(run: DaemonRun, dir: string, worker: string, name: string, ticketId: string): Promise<void> {
  const key = `${worker}/${name}`;
  let loc: TicketLocation;
  try {
    loc = claimedLocation(ticketId, worker);
  } catch {
    // An invalid ticket or worker id: no path may be built from it; fsck reports the entry.
    noteOnce(run, `invalid\0${key}`, { action: 'skipped', file: `${TicketState.claimed}/${key}`, note: 'not a valid ticket or worker id: left alone (tq fsck reports it)' });
    return;
  }
  const path = join(dir, name);
  const claim = await readClaim(run, loc, path, worker);
  if (claim === undefined) {
    run.claimDue.delete(key);
    return;
  }
  const verdict = leaseVerdict(claim, { worker, now: nowMs(run), pipeline: run.ctx.config.pipeline });
  if (verdict.kind === 'live') {
    run.claimDue.set(key, verdict.expiresAt);
    return;
  }
  run.claimDue.delete(key);
  // Expired, unstamped or too far ahead: the core reaper decides (and reads again).
  const a = await reapOne(run.ctx, path, worker, ticketId, { unstampedGraceMs: UNSTAMPED_GRACE_MS });
  if (a) run.log({ action: `reaped: ${a.action}`, ticket_id: a.ticket_id, worker_id: a.worker_id, note: a.note });
}

/**
 * The claim at `path`, or undefined when there is none to judge: gone, or not acceptable (then
 * quarantined, and the ticket restored from registry/ if it is then nowhere: a FIFO or a
 * directory named like a ticket, garbage, content that disagrees with where it is), or still
 * settling (garbage that may be a write in progress).
 */
async function readClaim(run: DaemonRun, loc: TicketLocation, path: string, worker: string): Promise<Ticket | undefined> {
  const who = { worker_id: worker };
  const rel = relOf(run, path);
  let st;
  try {
    st = await run.ctx.fs.lstat(path);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw ioError(err, 'checking', path);
  }
  if (!st.isFile()) {
    const what = st.isDirectory() ? 'directory' : st.isSymbolicLink() ? 'symbolic link' : 'special file (FIFO, socket or device)';
    await quarantineTicketFile(run, loc, path, `${rel} is a ${what}, not a ticket file`, who);
    return undefined;
  }
  if (st.size > MAX_RECORD_BYTES) {
    await quarantineTicketFile(run, loc, path, `${rel} is ${st.size} bytes, too big to be a ticket`, who);
    return undefined;
  }
  let text: string;
  try {
    // Why a plain read after the lstat: the fast path (claims are read on every full pass); the
    // Fs layer refuses a FIFO swapped in meanwhile (O_NONBLOCK, fstat), O_NOFOLLOW a link.
    text = await run.ctx.fs.readFile(path);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw ioError(err, 'reading', path);
  }
  let ticket: Ticket;
  try {
    ticket = parseTicket(text, rel);
  } catch (err) {
    if (!isTqError(err, 'CORRUPT_TICKET')) throw err;
    // Why: a claim edited in place may be half-written; it gets the settle time first.
    const fingerprint = createHash('sha256').update(text).digest('hex');
    if (!run.memory.hasSettled(path, fingerprint, nowMs(run), run.settle.fileMs)) return undefined;
    await quarantineTicketFile(run, loc, path, err.message, who);
    return undefined;
  }
  const problem = claimLocationProblem(ticket, loc, rel);
  if (problem !== undefined) {
    await quarantineTicketFile(run, loc, path, `${problem}; the location is the truth`, who);
    return undefined;
  }
  run.memory.forget(path);
  return ticket;
}

/**
 * What a claim's content says that its place contradicts. Why `pending` passes: a claimer
 * renames a pending ticket into claimed/<worker>/ and stamps it right after; until then (or
 * for good, if it died) the file is the pending version, claim record and all, and the
 * reaper adopts it (leaseVerdict 'unstamped'); its id and stage must still agree.
 */
function claimLocationProblem(ticket: Ticket, loc: TicketLocation, rel: string): string | undefined {
  const judged = ticket.status === TicketState.pending ? { ...ticket, status: TicketState.claimed, claim: null } : ticket;
  return ticketLocationProblem(judged, loc, rel)?.message;
}
