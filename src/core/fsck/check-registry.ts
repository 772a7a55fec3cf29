import { dirname, join } from 'node:path';
import { ticketIdOfFileName } from '../store/run-names.js';
import { stateDir } from '../store/run-context.js';
import { bornFormOf, serializeBirthRecord } from '../model/birth-record.js';
import { stageOfTicketId } from '../model/ids.js';
import { TicketState } from '../model/states.js';
import { registryPath } from '../protocol/birth-ticket.js';
import { describeRestore, restoreFromRegistry } from '../protocol/restore-from-registry.js';
import { listDir, writeFileAtomic } from '../store/atomic-write.js';
import { isInFlight } from '../protocol/locate-ticket.js';
import { guardEntry } from './guard-entry.js';
import { locateSafely } from './locate-safely.js';
import { isUnderUnsafeDir, type FsckProblem, type FsckSession, type TicketsById } from './fsck-session.js';

/** registry/ against the census: every id ever created, and those the census did not find. */
export interface RegistryListing {
  registered: Set<string>;
  /** Registered ids not in the census, with their birth record. */
  unlisted: { id: string; reg: string }[];
}

export async function listRegistry(s: FsckSession, byId: TicketsById): Promise<RegistryListing> {
  const { ctx } = s;
  const registered = new Set<string>();
  const unlisted: { id: string; reg: string }[] = [];
  if (isUnderUnsafeDir(s, ctx.paths.registry)) return { registered, unlisted };
  for (const stage of await listDir(ctx, ctx.paths.registry)) {
    // Why: never list through a registry/<stage> that is not a real directory (check-run-layout.ts reported it).
    if (isUnderUnsafeDir(s, join(ctx.paths.registry, stage))) continue;
    for (const name of await listDir(ctx, join(ctx.paths.registry, stage))) {
      const id = ticketIdOfFileName(name);
      if (id === undefined) continue;
      registered.add(id);
      if (!byId.has(id)) unlisted.push({ id, reg: join(ctx.paths.registry, stage, name) });
    }
  }
  return { registered, unlisted };
}

/**
 * Every ticket ever created still exists. Each unlisted id is looked up again (call this after
 * the settle time); one still in no state is lost, and --repair puts it back from its birth record.
 */
export async function checkLost(s: FsckSession, unlisted: RegistryListing['unlisted']): Promise<void> {
  const { ctx } = s;
  for (const { id, reg } of unlisted) {
    await guardEntry(s, reg, id, async () => {
      // A copy fsck itself found unacceptable (corrupt, misnamed...) does not count as the ticket.
      if ((await locateSafely(s, id)).some((l) => !s.unacceptable.has(l.path))) return;
      // Without --repair, interrupted moves were not finished: report those tickets as lost too.
      if (s.repair && (await isInFlight(ctx, id))) return;
      const behind = s.unsafeDirs.size > 0 ? ` (fsck does not look behind ${[...s.unsafeDirs].join(', ')})` : '';
      const p: FsckProblem = { kind: 'lost', file: reg, ticket_id: id, message: `${id} was created (${reg}) but is in no state directory${behind}` };
      if (s.repair) {
        const pending = stateDir(ctx, TicketState.pending, stageOfTicketId(id));
        // Why: nothing is written through a directory that is not a real one inside the run.
        if (isUnderUnsafeDir(s, pending) || isUnderUnsafeDir(s, dirname(reg))) p.message += `; not restored: ${pending} is not a real directory`;
        else {
          const restored = describeRestore(await restoreFromRegistry(ctx, id, { event: 'restored by fsck', note: 'ticket was missing from every state directory' }));
          if (restored !== undefined) p.repaired = restored;
          else p.message += ` and its birth record ${reg} is not a valid ticket: fix it by hand`;
        }
      }
      s.problems.push(p);
    });
  }
}

/** Every ticket has a birth record; --repair records one for a ticket added by hand. */
export async function checkUnregistered(s: FsckSession, byId: TicketsById, registered: Set<string>): Promise<void> {
  for (const [id, [f]] of byId) {
    if (!f || registered.has(id)) continue;
    // The census checked worker_type against the ticket's location.
    const reg = registryPath(s.ctx, f.ticket.worker_type, id);
    await guardEntry(s, f.path, id, async () => {
      const p: FsckProblem = { kind: 'unregistered', file: f.path, ticket_id: id, message: `${id} has no birth record in registry/ (added by hand?)` };
      if (s.repair && !isUnderUnsafeDir(s, dirname(reg))) {
        await writeFileAtomic(s.ctx, reg, serializeBirthRecord(bornFormOf(f.ticket)));
        p.repaired = `recorded in ${reg}`;
      }
      s.problems.push(p);
    });
  }
}
