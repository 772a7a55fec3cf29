import { join } from 'node:path';
import { isTqError } from '../core/model/errors.js';
import { cascadeTicket } from '../core/ops/cascade-ticket.js';
import { rulesFrom } from '../core/model/pipeline.js';
import { quarantineFile } from '../core/store/quarantine.js';
import { stateDir } from '../core/store/run-context.js';
import { ticketIdOfFileName } from '../core/store/run-names.js';
import { parseTicket } from '../core/model/serialize-ticket.js';
import { listDir } from '../core/store/atomic-write.js';
import { errorLogOf, isRegularFile, nowMs, relOf, type DaemonRun } from './daemon-run.js';
import { readAgentFile } from './read-agent-file.js';

/** Tickets can hold large outputs; this only guards against reading something absurd whole. */
const MAX_TICKET_BYTES = 256 * 1024 * 1024;

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
  const names = await listDir(ctx, dir);
  if (names.length === 0) return { handled: 0, more: false };
  const done = new Set(await listDir(ctx, ctx.paths.cascadeDone));
  let handled = 0;
  for (const name of names) {
    const id = ticketIdOfFileName(name);
    // Why: a marker is named <parent-id>.json, exactly like the parent's ticket file.
    if (id === undefined || done.has(name)) continue;
    if (handled >= limit) return { handled, more: true };
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
  try {
    await cascadeLocked(run, stage, stateDir(run.ctx, 'completed', stage), name, id);
  } catch (err) {
    run.log({ action: 'error', ticket_id: id, note: 'cascade failed; retried on the next pass', error: errorLogOf(err) });
  }
}

/** The lock a daemon holds while it cascades (or submits, which cascades) ticket `id`. */
export function cascadeLockKey(id: string): string {
  return `cascade\0${id}`;
}

/**
 * Cascade one parent unless its marker exists, one cascade per parent at a time: a hint, a pass
 * and the daemon's own submit of the parent would otherwise all create its children at once.
 */
async function cascadeLocked(run: DaemonRun, stage: string, dir: string, name: string, id: string): Promise<void> {
  await run.locks.with(cascadeLockKey(id), async () => {
    // Why: a marker is named <parent-id>.json, exactly like the parent's ticket file.
    if (await isRegularFile(run.ctx.fs, join(run.ctx.paths.cascadeDone, name))) return;
    await cascadeOne(run, stage, join(dir, name), id);
  });
}

/** Stages whose completed/<stage>/ directory is worth watching: those that cascade. */
export function cascadingStages(run: DaemonRun): { stage: string; dir: string }[] {
  const stages = Object.keys(run.ctx.config.pipeline.stages).filter((s) => rulesFrom(run.ctx.config.pipeline, s).length > 0);
  return stages.map((stage) => ({ stage, dir: stateDir(run.ctx, 'completed', stage) }));
}

async function cascadeOne(run: DaemonRun, stage: string, path: string, id: string): Promise<void> {
  const read = await readAgentFile(run.ctx.fs, path, MAX_TICKET_BYTES);
  if (read.kind === 'gone') return;
  if (read.kind !== 'text') {
    const why = read.kind === 'too_big' ? `${relOf(run, path)} is ${read.size} bytes, too big to be a ticket` : `${relOf(run, path)} is a ${read.what}, not a ticket file`;
    await quarantine(run, path, id, why);
    return;
  }
  let ticket;
  try {
    ticket = parseTicket(read.text, relOf(run, path));
  } catch (err) {
    if (!isTqError(err, 'CORRUPT_TICKET')) throw err;
    // Why: a ticket moved or edited by hand may still be being written; give it the settle time.
    if (!run.memory.hasSettled(path, read.fingerprint, nowMs(run), run.settle.fileMs)) return;
    await quarantine(run, path, id, err.message);
    return;
  }
  if (ticket.ticket_id !== id || ticket.worker_type !== stage) {
    await quarantine(run, path, id, `${relOf(run, path)}: its ticket_id "${ticket.ticket_id}" / worker_type "${ticket.worker_type}" do not match the file name and completed/${stage}/`);
    return;
  }
  const marker = await cascadeTicket(run.ctx, ticket);
  if (!marker) return;
  const problems = marker.problems.length > 0 ? `; problems: ${marker.problems.join('; ')}` : '';
  const status = ticket.status !== 'completed' ? `; note: its status field says ${ticket.status}, but it is in completed/` : '';
  run.log({ action: 'cascaded', ticket_id: id, note: `${marker.created.length} created, ${marker.deduplicated.length} already existed${problems}${status}` });
}

async function quarantine(run: DaemonRun, path: string, id: string, why: string): Promise<void> {
  const q = await quarantineFile(run.ctx, path, why);
  run.memory.forget(path);
  if (q) run.log({ action: 'quarantined', ticket_id: id, note: `${why}; moved to ${relOf(run, q)}` });
}
