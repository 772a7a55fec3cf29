import type { TicketState } from '../model/states.js';
import { guardEntry } from './guard-entry.js';
import { locateSafely } from './locate-safely.js';
import { quarantineProblem, type FoundTicket, type FsckSession, type TicketsById } from './fsck-session.js';

/** Which copy of a ticket found in two states is kept: the most advanced one. */
const PRECEDENCE: Record<TicketState, number> = { completed: 5, failed: 4, needs_review: 3, claimed: 2, pending: 1 };

export function groupById(found: FoundTicket[]): TicketsById {
  const byId: TicketsById = new Map();
  for (const f of found) byId.set(f.id, [...(byId.get(f.id) ?? []), f]);
  return byId;
}

/** Ids the census found in more than one place. */
export function doubledIds(byId: TicketsById): string[] {
  return [...byId].filter(([, copies]) => copies.length > 1).map(([id]) => id);
}

/**
 * Each id in exactly one state. Each doubled id is looked up again, path by path (call this
 * after the settle time): a ticket that moved during the census has one copy now and is not
 * a problem; a real duplicate keeps its most advanced copy and the others are quarantined.
 * Leaves one copy per id in `byId`.
 */
export async function resolveDuplicates(s: FsckSession, byId: TicketsById, doubled: string[]): Promise<void> {
  for (const id of doubled) {
    await guardEntry(s, byId.get(id)?.[0]?.path ?? id, id, () => resolveDuplicate(s, byId, id));
    // Whatever happened, later phases see at most one copy.
    byId.set(id, (byId.get(id) ?? []).slice(0, 1));
  }
}

async function resolveDuplicate(s: FsckSession, byId: TicketsById, id: string): Promise<void> {
  // A copy fsck found unacceptable was reported already and is no candidate to keep.
  const copies = (await locateSafely(s, id)).filter((c) => !s.unacceptable.has(c.path));
  if (copies.length < 2) {
    const still = (byId.get(id) ?? []).filter((f) => copies.some((c) => c.path === f.path));
    byId.set(id, still.length > 0 ? still : (byId.get(id) ?? []).slice(0, 1));
    return;
  }
  copies.sort((a, b) => PRECEDENCE[b.state] - PRECEDENCE[a.state]);
  const keep = copies[0] as (typeof copies)[number];
  for (const extra of copies.slice(1)) {
    await quarantineProblem(s, { kind: 'duplicate', file: extra.path, ticket_id: id, message: `${id} is in ${extra.state}/ and also in ${keep.state}/ (${keep.path}); the ${keep.state} copy is kept` });
  }
  byId.set(id, (byId.get(id) ?? []).filter((f) => f.path === keep.path).slice(0, 1));
}
