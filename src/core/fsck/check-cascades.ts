import { isTqError } from '../model/errors.js';
import { unlinkIfExists } from '../store/atomic-write.js';
import { cascadeTicket, cascadeMarkerPath, readCascadeMarker } from '../ops/cascade-ticket.js';
import { rulesFrom } from '../model/pipeline.js';
import type { FsckProblem, FsckSession, TicketsById } from './fsck-session.js';

/** Cascades: every completed parent has its marker, and every child it names exists. */
export async function checkCascades(s: FsckSession, byId: TicketsById, registered: Set<string>): Promise<void> {
  const { ctx, repair } = s;
  for (const [id, [f]] of byId) {
    if (!f || f.state !== 'completed' || rulesFrom(ctx.config.pipeline, f.ticket.worker_type).length === 0) continue;
    const marker = await readCascadeMarker(ctx, id);
    if (!marker) {
      const p: FsckProblem = { kind: 'cascade_pending', file: f.path, ticket_id: id, message: `${id} is completed but its children were not (all) created` };
      if (repair) {
        // Why: a parent cascadeTicket refuses (never submitted, content vs place) stays reported, unrepaired.
        const m = await cascadeTicket(ctx, f.ticket, f.path).catch((err: unknown) => (isTqError(err, 'WRONG_STATE') || isTqError(err, 'CORRUPT_TICKET') ? err : Promise.reject(err)));
        if (m instanceof Error) p.message += `; not cascaded: ${m.message}`;
        else p.repaired = `cascaded: ${m?.created.length ?? 0} created, ${m?.deduplicated.length ?? 0} already existed`;
      }
      s.problems.push(p);
      continue;
    }
    const missing = marker.children.filter((c) => !registered.has(c) && !byId.has(c));
    if (missing.length > 0) {
      const p: FsckProblem = { kind: 'child_missing', file: cascadeMarkerPath(ctx, id), ticket_id: id, message: `${id} is marked cascaded but ${missing.length} child(ren) do not exist (e.g. ${missing[0]})` };
      if (repair) {
        await unlinkIfExists(ctx, cascadeMarkerPath(ctx, id));
        const m = await cascadeTicket(ctx, f.ticket);
        p.repaired = `re-cascaded: ${m?.created.length ?? 0} created`;
      }
      s.problems.push(p);
    }
  }
}
