import { isTqError } from '../model/errors.js';
import { unlinkIfExists } from '../store/atomic-write.js';
import { cascadeTicket, cascadeMarkerPath, CascadeMarker } from '../ops/cascade-ticket.js';
import { rulesFrom } from '../model/pipeline.js';
import { readEntry } from './read-entry.js';
import { guardEntry } from './guard-entry.js';
import { isHandMoved } from '../model/ticket-history.js';
import { isUnderUnsafeDir, type FoundTicket, type FsckProblem, type FsckSession, type TicketsById } from './fsck-session.js';

/**
 * Cascades: every completed parent has its marker, and every child it names exists. A ticket in
 * completed/ that was never submitted (check-hand-moved.ts) is never cascaded: its children
 * would be made from an output nobody wrote.
 */
export async function checkCascades(s: FsckSession, byId: TicketsById, registered: Set<string>): Promise<void> {
  // Why: markers are read from cascade/done/ and written there; one that is not a real directory was reported.
  if (isUnderUnsafeDir(s, s.ctx.paths.cascadeDone)) return;
  for (const [id, [f]] of byId) {
    if (!f || f.state !== 'completed' || isHandMoved(f.ticket, f.state) || rulesFrom(s.ctx.config.pipeline, f.ticket.worker_type).length === 0) continue;
    await guardEntry(s, f.path, id, () => checkCascade(s, byId, registered, f));
  }
}

async function checkCascade(s: FsckSession, byId: TicketsById, registered: Set<string>, f: FoundTicket): Promise<void> {
  const { ctx, repair } = s;
  const id = f.id;
  const markerPath = cascadeMarkerPath(ctx, id);
  const read = await readMarker(s, markerPath);
  if (read === 'unreadable') return;
  if (!read) {
    const p: FsckProblem = { kind: 'cascade_pending', file: f.path, ticket_id: id, message: `${id} is completed but its children were not (all) created` };
    if (repair) {
      // Why: a parent cascadeTicket refuses (never submitted, content vs place) stays reported, unrepaired.
      const m = await cascadeTicket(ctx, f.ticket, f.path).catch((err: unknown) => (isTqError(err, 'WRONG_STATE') || isTqError(err, 'CORRUPT_TICKET') ? err : Promise.reject(err)));
      if (m instanceof Error) p.message += `; not cascaded: ${m.message}`;
      else p.repaired = `cascaded: ${m?.created.length ?? 0} created, ${m?.deduplicated.length ?? 0} already existed`;
    }
    s.problems.push(p);
    return;
  }
  const missing = read.children.filter((c) => !registered.has(c) && !byId.has(c));
  if (missing.length === 0) return;
  const p: FsckProblem = { kind: 'child_missing', file: markerPath, ticket_id: id, message: `${id} is marked cascaded but ${missing.length} child(ren) do not exist (e.g. ${missing[0]})` };
  if (repair) {
    await unlinkIfExists(ctx, markerPath);
    const m = await cascadeTicket(ctx, f.ticket, f.path);
    p.repaired = `re-cascaded: ${m?.created.length ?? 0} created`;
  }
  s.problems.push(p);
}

/**
 * The marker of a parent, undefined when there is none (or it is damaged: cascading again is
 * idempotent), 'unreadable' when the entry is not a regular file (reported by check-special-entries.ts).
 * Why not readCascadeMarker: a FIFO named like a marker would block it forever.
 */
async function readMarker(s: FsckSession, path: string): Promise<CascadeMarker | undefined | 'unreadable'> {
  const read = await readEntry(s.ctx, path);
  if (read.kind === 'gone') return undefined;
  if (read.kind !== 'text') return read.kind === 'too_big' ? undefined : 'unreadable';
  try {
    return CascadeMarker.parse(JSON.parse(read.text));
  } catch {
    return undefined;
  }
}
