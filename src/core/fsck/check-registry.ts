import { dirname, join } from 'node:path';
import { isTqError } from '../model/errors.js';
import { ticketIdOfFileName } from '../store/run-names.js';
import type { RunCtx } from '../store/run-context.js';
import { parseTicket, serializeTicket, withHistory } from '../model/serialize-ticket.js';
import { registryPath } from '../protocol/birth-ticket.js';
import { createFileExclusive, listDir, writeFileAtomic } from '../store/atomic-write.js';
import { isInFlight } from '../protocol/locate-ticket.js';
import { pathOfLocation, stateLocation } from '../store/ticket-location.js';
import type { Ticket } from '../model/ticket-schema.js';
import { TicketState } from '../model/states.js';
import { readEntry } from './read-entry.js';
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
        const restored = await restoreFromRegistry(s, id, reg);
        if ('repaired' in restored) p.repaired = restored.repaired;
        else p.message += restored.unrepaired;
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
        await writeFileAtomic(s.ctx, reg, serializeTicket(f.ticket));
        p.repaired = `recorded in ${reg}`;
      }
      s.problems.push(p);
    });
  }
}

/**
 * Put a lost ticket back into pending/ from its birth record (it will be done again). Where it
 * goes comes from the record's name (`id`), never from its content, which must agree.
 */
async function restoreFromRegistry(s: FsckSession, id: string, reg: string): Promise<{ repaired: string } | { unrepaired: string }> {
  const { ctx } = s;
  const invalid = { unrepaired: ` and its birth record ${reg} is not a valid ticket: fix it by hand` };
  // Why readEntry: a FIFO in registry/ named like a lost ticket must not hang fsck.
  const read = await readEntry(ctx, reg);
  if (read.kind === 'gone') return { repaired: 'registry entry vanished' };
  if (read.kind !== 'text') return invalid;
  let born: Ticket;
  try {
    born = parseTicket(read.text, reg);
  } catch (err) {
    // Why: a damaged birth record must not stop the repair of everything else; the problem
    // stays unrepaired (fsck not ok) so a human looks at it.
    if (isTqError(err, 'CORRUPT_TICKET')) return invalid;
    throw err;
  }
  const target = targetOfRestore(ctx, id, reg, born);
  if (target === undefined) return invalid;
  if (isUnderUnsafeDir(s, dirname(target))) return { unrepaired: `; not restored: ${dirname(target)} is not a real directory` };
  const now = ctx.clock.now().toISOString();
  const restored: Ticket = { ...born, history: withHistory(born, { at: now, event: 'restored by fsck', to: 'pending', note: 'ticket was missing from every state directory' }) };
  // RACE: created with link (O_EXCL): if the ticket reappeared meanwhile, it is not overwritten.
  const ok = await createFileExclusive(ctx, target, serializeTicket(restored));
  return { repaired: ok ? `restored to ${target}` : 'reappeared meanwhile; left alone' };
}

/** pending/<stage>/<id>.json for a birth record that agrees with its name and directory, else undefined. */
function targetOfRestore(ctx: RunCtx, id: string, reg: string, born: Ticket): string | undefined {
  let loc;
  try {
    loc = stateLocation(TicketState.pending, id);
  } catch (err) {
    if (isTqError(err, 'INVALID_ID')) return undefined;
    throw err;
  }
  const agrees = born.ticket_id === id && born.worker_type === loc.stage && reg === registryPath(ctx, loc.stage, id);
  return agrees ? pathOfLocation(ctx, loc) : undefined;
}
