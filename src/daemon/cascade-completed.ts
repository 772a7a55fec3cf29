import { join } from 'node:path';
import { isTqError } from '../core/model/errors.js';
import { cascadeTicket } from '../core/ops/cascade-ticket.js';
import { rulesFrom } from '../core/model/pipeline.js';
import { TicketState } from '../core/model/states.js';
import type { Ticket } from '../core/model/ticket-schema.js';
import { quarantineFile } from '../core/store/quarantine.js';
import { stateDir } from '../core/store/run-context.js';
import { ticketIdOfFileName } from '../core/store/run-names.js';
import { stateLocation, ticketLocationProblem, type TicketLocation } from '../core/store/ticket-location.js';
import { parseTicket } from '../core/model/serialize-ticket.js';
import { listDir, streamDirEntries } from '../core/store/atomic-write.js';
import { MAX_RECORD_BYTES } from '../core/model/json-limits.js';
import { errorLogOf, linkedDirOnPath, noteOnce, nowMs, relOf, type DaemonRun } from './daemon-run.js';
import { quarantineTicketFile } from './quarantine-ticket.js';
import { readAgentFile } from './read-agent-file.js';

/**
 * History events that bring a ticket into completed/ through the queue: a submit (straight, or
 * to needs_review/ and then approved). A ticket in completed/ with neither was moved there by
 * hand; its output never went through a submit's checks.
 */
const FINISHING_EVENTS: ReadonlySet<string> = new Set(['submitted', 'approved']);

export interface CascadeProgress {
  /** Parents looked at (cascaded, skipped or quarantined). */
  handled: number;
  /** True when `limit` stopped us before the end. */
  more: boolean;
}

/**
 * Cascade every completed ticket of `stage` that has no marker in cascade/done/ yet. The work
 * list is two directory listings; only the tickets to cascade are read. Handles at most `limit`
 * parents so that a big backlog does not keep agents' requests waiting.
 */
export async function cascadeCompleted(run: DaemonRun, stage: string, limit = Infinity): Promise<CascadeProgress> {
  const ctx = run.ctx;
  if (rulesFrom(ctx.config.pipeline, stage).length === 0) return { handled: 0, more: false };
  const dir = stateDir(ctx, 'completed', stage);
  if (!(await cascadeDirsAreReal(run, dir))) return { handled: 0, more: false };
  const names = await listDir(ctx, dir);
  if (names.length === 0) return { handled: 0, more: false };
  const done = await listMarkers(run);
  let handled = 0;
  for (const name of names) {
    const id = ticketIdOfFileName(name);
    // Why: a marker is named <parent-id>.json, exactly like the parent's ticket file.
    if (id === undefined || done.has(name)) continue;
    // A hand-moved parent already logged (and not cascaded): not read again, not counted.
    if (run.memory.wasAnsweredAnyVersion(join(dir, name))) continue;
    if (handled >= limit || run.stopping) return { handled, more: true };
    handled += 1;
    try {
      await cascadeLocked(run, stage, dir, name, id);
    } catch (err) {
      run.log({ action: 'error', ticket_id: id, note: 'cascade failed; retried on the next pass', error: errorLogOf(err) });
    }
  }
  run.memory.prune(dir, new Set(names));
  return { handled, more: false };
}

/** Cascade the one parent a watcher event named, unless it has its marker already. */
export async function cascadeNamed(run: DaemonRun, stage: string, name: string): Promise<void> {
  const id = ticketIdOfFileName(name);
  if (id === undefined || rulesFrom(run.ctx.config.pipeline, stage).length === 0) return;
  const dir = stateDir(run.ctx, 'completed', stage);
  if (!(await cascadeDirsAreReal(run, dir))) return;
  try {
    await cascadeLocked(run, stage, dir, name, id);
  } catch (err) {
    run.log({ action: 'error', ticket_id: id, note: 'cascade failed; retried on the next pass', error: errorLogOf(err) });
  }
}

/** The lock a daemon holds while it cascades (or submits, which cascades) ticket `id`. */
export function cascadeLockKey(id: string): string {
  return `cascade\0${id}`;
}

/**
 * completed/<stage>/ is read and quarantined from, cascade/done/ written into: neither may be a
 * link out of the run (then nothing is cascaded, and the log says why).
 */
async function cascadeDirsAreReal(run: DaemonRun, dir: string): Promise<boolean> {
  for (const d of [dir, run.ctx.paths.cascadeDone]) {
    const linked = await linkedDirOnPath(run.ctx, d);
    if (linked === undefined) continue;
    noteOnce(run, `linked\0${linked}`, { action: 'error', file: relOf(run, linked), note: `${relOf(run, linked)} is not a real directory (a symbolic link?): nothing cascaded until it is one` });
    return false;
  }
  return true;
}

/**
 * The names of the markers in cascade/done/: regular files only. Anything else named like one (a
 * FIFO, a directory, a link) is no marker: it is quarantined, never read.
 */
async function listMarkers(run: DaemonRun): Promise<Set<string>> {
  const dir = run.ctx.paths.cascadeDone;
  const markers = new Set<string>();
  const odd: string[] = [];
  await streamDirEntries(run.ctx, dir, (e) => {
    if (e.isFile()) markers.add(e.name);
    else if (ticketIdOfFileName(e.name) !== undefined) odd.push(e.name);
  });
  for (const name of odd) await quarantineOddMarker(run, join(dir, name));
  return markers;
}

async function quarantineOddMarker(run: DaemonRun, path: string): Promise<void> {
  const why = `${relOf(run, path)} is not a regular file, so it is no cascade marker`;
  const q = await quarantineFile(run.ctx, path, why);
  if (q) run.log({ action: 'quarantined', file: relOf(run, path), note: `${why}; moved to ${relOf(run, q)}` });
}

/** Is there a marker for this parent? A non-file in its place is quarantined (then there is none). */
async function hasMarker(run: DaemonRun, name: string): Promise<boolean> {
  const path = join(run.ctx.paths.cascadeDone, name);
  let st;
  try {
    st = await run.ctx.fs.lstat(path);
  } catch {
    return false;
  }
  if (st.isFile()) return true;
  await quarantineOddMarker(run, path);
  return false;
}

/**
 * Cascade one parent unless its marker exists, one cascade per parent at a time: a hint, a pass
 * and the daemon's own submit of the parent would otherwise all create its children at once.
 */
async function cascadeLocked(run: DaemonRun, stage: string, dir: string, name: string, id: string): Promise<void> {
  await run.locks.with(cascadeLockKey(id), async () => {
    if (await hasMarker(run, name)) return;
    let loc: TicketLocation;
    try {
      loc = stateLocation(TicketState.completed, id);
    } catch {
      // Not a valid ticket id: fsck reports the stray file; nothing to cascade.
      return;
    }
    const path = join(dir, name);
    if (loc.stage !== stage) {
      // Why: the stage comes from the path, and an id names its stage: a parse ticket in
      // completed/translate/ is in no place a ticket can be (restored if it is then nowhere).
      return quarantineTicketFile(run, loc, path, `${relOf(run, path)}: ticket ${id} belongs to stage ${loc.stage}, not in completed/${stage}/; not cascaded`);
    }
    await cascadeOne(run, loc, path);
  });
}

/** Stages whose completed/<stage>/ directory is worth watching: those that cascade. */
export function cascadingStages(run: DaemonRun): { stage: string; dir: string }[] {
  const stages = Object.keys(run.ctx.config.pipeline.stages).filter((s) => rulesFrom(run.ctx.config.pipeline, s).length > 0);
  return stages.map((stage) => ({ stage, dir: stateDir(run.ctx, 'completed', stage) }));
}

async function cascadeOne(run: DaemonRun, loc: TicketLocation, path: string): Promise<void> {
  const id = loc.ticketId;
  const rel = relOf(run, path);
  const read = await readAgentFile(run.ctx.fs, path, MAX_RECORD_BYTES);
  if (read.kind === 'gone') return;
  if (read.kind !== 'text') {
    const why = read.kind === 'too_big' ? `${rel} is ${read.size} bytes, too big to be a ticket` : `${rel} is a ${read.what}, not a ticket file`;
    return quarantineTicketFile(run, loc, path, why);
  }
  let ticket: Ticket;
  try {
    ticket = parseTicket(read.text, rel);
  } catch (err) {
    if (!isTqError(err, 'CORRUPT_TICKET')) throw err;
    // Why: a ticket moved or edited by hand may still be being written; give it the settle time.
    if (!run.memory.hasSettled(path, read.fingerprint, nowMs(run), run.settle.fileMs)) return;
    return quarantineTicketFile(run, loc, path, err.message);
  }
  // Why: the location is the truth; a ticket whose content says it is another one (or another
  // stage's, or not completed) would cascade children from the wrong parent.
  const problem = ticketLocationProblem(ticket, loc, rel);
  if (problem) return quarantineTicketFile(run, loc, path, `${problem.message}; not cascaded`);
  if (!ticket.history.some((h) => FINISHING_EVENTS.has(h.event))) {
    if (run.memory.wasAnswered(path, read.fingerprint)) return;
    run.memory.markAnswered(path, read.fingerprint, nowMs(run));
    run.log({
      action: 'not cascaded',
      ticket_id: id,
      file: rel,
      note: `${rel} has no submit in its history (moved into completed/ by hand?): its output never went through a submit, so no children are made from it; \`tq fsck\` reports it and \`tq fsck --repair\` requeues it`,
    });
    return;
  }
  const marker = await cascadeTicket(run.ctx, ticket);
  if (!marker) return;
  const problems = marker.problems.length > 0 ? `; problems: ${marker.problems.join('; ')}` : '';
  run.log({ action: 'cascaded', ticket_id: id, note: `${marker.created.length} created, ${marker.deduplicated.length} already existed${problems}` });
}
