import type { TicketState } from '../model/states.js';
import type { RunCtx } from '../store/run-context.js';
import type { RecoveryAction } from '../protocol/recover-moving.js';
import { startFsckSession, type FsckProblem, type TicketsById } from './fsck-session.js';
import { checkRunLayout } from './check-run-layout.js';
import { checkSpecialEntries } from './check-special-entries.js';
import { checkMoving } from './check-moving.js';
import { takeCensus } from './take-census.js';
import { doubledIds, groupById, resolveDuplicates } from './check-duplicates.js';
import { checkLost, checkUnregistered, listRegistry } from './check-registry.js';
import { checkHandMoved } from './check-hand-moved.js';
import { checkClaims } from './check-claims.js';
import { checkCascades } from './check-cascades.js';
import { checkTempFiles } from './check-temp-files.js';

export type { FsckProblem } from './fsck-session.js';

export interface FsckReport {
  run_id: string;
  ok: boolean;
  tickets: number;
  by_state: Record<TicketState, number>;
  problems: FsckProblem[];
  recovered: RecoveryAction[];
}

/**
 * Check every invariant of a run: each ticket is a valid file in exactly one state, its content
 * agrees with where it is, every ticket ever created (registry/) still exists, every completed
 * parent has cascaded, nothing is left half-moved. With `repair`, mend what a crash, a git merge
 * or a hand edit can leave. Nothing is ever opened that is not a regular file, nothing is listed
 * or changed through a directory that is not a real one, and one bad entry never stops fsck.
 * The phases run in this order because each relies on the ones before (see each check-*.ts).
 */
export async function fsckRun(ctx: RunCtx, opts: { repair?: boolean; settleMs?: number } = {}): Promise<FsckReport> {
  const s = startFsckSession(ctx, opts);
  // Why first: the skeleton decides what the later phases may list and whether they may change anything.
  await checkRunLayout(s);
  // Why before moving/ and the registry: recovery and restores read those files, and must never open a FIFO.
  await checkSpecialEntries(s);
  const recovered = await checkMoving(s);
  const byId = groupById(await takeCensus(s));
  const { registered, unlisted } = await listRegistry(s, byId);
  // RACE: the listings are taken one after another, so a ticket moving meanwhile can show up
  // twice (or not at all): suspects are checked again, path by path, after the settle time,
  // and only what is still wrong is reported or repaired.
  const doubled = doubledIds(byId);
  if ((doubled.length > 0 || unlisted.length > 0) && s.settleMs > 0) await new Promise((r) => setTimeout(r, s.settleMs));
  await resolveDuplicates(s, byId, doubled);
  await checkLost(s, unlisted);
  await checkUnregistered(s, byId, registered);
  // Why after the duplicate check: a ticket is requeued from its one remaining copy; before the cascades: it is never cascaded.
  await checkHandMoved(s, byId);
  await checkClaims(s, byId);
  await checkCascades(s, byId, registered);
  await checkTempFiles(s);
  const unresolved = s.problems.filter((p) => p.repaired === undefined && p.kind !== 'in_flight');
  return { run_id: ctx.runId, ok: unresolved.length === 0, tickets: byId.size, by_state: countByState(byId), problems: s.problems, recovered };
}

function countByState(byId: TicketsById): Record<TicketState, number> {
  const by_state: Record<TicketState, number> = { pending: 0, claimed: 0, completed: 0, failed: 0, needs_review: 0 };
  for (const [, [f]] of byId) if (f) by_state[f.state] += 1;
  return by_state;
}
