import { dirname, join } from 'node:path';
import { isBirthRecordOf } from '../model/birth-record.js';
import { errnoCode, ioError, isTqError } from '../model/errors.js';
import { stageOfTicketId } from '../model/ids.js';
import { isInFlight, finishedCopyOf, locateAll } from './locate-ticket.js';
import { registryPath } from './birth-ticket.js';
import { commitDraft, movingNames } from './move-ticket.js';
import { restoreFromRegistry } from './restore-from-registry.js';
import { ensureParent, intoDir, type RunCtx } from '../store/run-context.js';
import { parseTicket } from '../model/serialize-ticket.js';
import { TicketState, isFinishedState, type FinishedState } from '../model/states.js';
import type { Ticket } from '../model/ticket-schema.js';
import { keepRejectedOutput } from '../store/reject-output.js';
import { quarantineFile } from '../store/quarantine.js';
import { listDir, readIfExists, syncDirIfDurable, unlinkIfExists, writeFileAtomic } from '../store/atomic-write.js';
import { isMovingFileOf, parseMovingFileName } from '../store/run-names.js';
import { claimedLocation, pathOfLocation, pendingLocationOf, shown, stateLocation, ticketLocationProblem, type TicketLocation } from '../store/ticket-location.js';

export interface RecoveryAction {
  ticket_id: string;
  action: 'finished move' | 'cleared' | 'restored' | 'restored from registry' | 'published birth' | 'dropped unregistered birth' | 'kept aborted output' | 'quarantined';
  file: string;
}

/** Wait, then keep only names seen both times: live operations finish within milliseconds. */
export async function settledListing(ctx: RunCtx, dir: string, settleMs: number): Promise<string[]> {
  const first = await listDir(ctx, dir);
  if (settleMs <= 0 || first.length === 0) return first;
  await new Promise((r) => setTimeout(r, settleMs));
  const second = new Set(await listDir(ctx, dir));
  return first.filter((n) => second.has(n));
}

/** The files of one move or birth in moving/ (one `<id>~<n>`), as paths. */
interface MovingGroup {
  /** The ticket id, from the file names (validated): the truth about which ticket these are. */
  id: string;
  /** The move's nonce (`<n>`): a lone .prev is claimed by linking it to its own .next name. */
  n: string;
  next?: string;
  prev?: string;
  new?: string;
}

/**
 * Finish or undo what crashed processes left in moving/ (see move-ticket.ts and
 * birth-ticket.ts for the protocol). Only entries that stayed put for `settleMs` are touched.
 * The states a crash can leave, per move `<id>~<n>`:
 *   .prev alone, the ticket nowhere else   fenced, not yet drafted: put it back (settleLonePrev)
 *   .prev alone, the ticket elsewhere      committed (or put back) before .prev was removed: drop it
 *   .next + .prev                          drafted, not committed: finish the move (finishFencedMove)
 *   .next alone                            committed-and-unlinked never leaves this; it is a
 *                                          duplicate set aside, a put-back claimed by recovery, or
 *                                          an older protocol's unfenced draft (settleLoneNext)
 *   .new                                   a birth (recoverBirth)
 * A ticket's id comes from its moving/ file name; where a file goes is decided from that id and
 * the file's content checked against it, never from the content alone (agents can write
 * moving/ too).
 */
export async function recoverMoving(ctx: RunCtx, settleMs: number, onlyTicketId?: string): Promise<RecoveryAction[]> {
  const all = await settledListing(ctx, ctx.paths.moving, settleMs);
  const names = onlyTicketId === undefined ? all : all.filter((n) => isMovingFileOf(n, onlyTicketId));
  const actions: RecoveryAction[] = [];
  for (const g of await groupMovingFiles(ctx, names, actions)) {
    if (g.new) actions.push(...(await recoverBirth(ctx, g.id, g.new)));
    if (g.next && g.prev) actions.push(...(await finishFencedMove(ctx, g.id, g.next, g.prev)));
    else if (g.prev) actions.push(...(await settleLonePrev(ctx, g.id, g.prev, movingNames(ctx, g.id, g.n).next)));
    else if (g.next) actions.push(...(await settleLoneNext(ctx, g.id, g.next)));
  }
  return actions;
}

/** Group the names of moving/ by move; a name that is no moving file of a valid ticket id is quarantined. */
async function groupMovingFiles(ctx: RunCtx, names: string[], actions: RecoveryAction[]): Promise<MovingGroup[]> {
  const groups = new Map<string, MovingGroup>();
  for (const name of names) {
    const m = parseMovingFileName(name);
    if (!m || !isValidTicketId(m.ticketId)) {
      const file = join(ctx.paths.moving, name);
      await quarantineFile(ctx, file, m ? `moving/${name}: ${shown(m.ticketId)} is not a valid ticket id` : 'unexpected file in moving/');
      actions.push({ ticket_id: '', action: 'quarantined', file });
      continue;
    }
    const key = `${m.ticketId}~${m.n}`;
    const g = groups.get(key) ?? { id: m.ticketId, n: m.n };
    g[m.kind] = join(ctx.paths.moving, name);
    groups.set(key, g);
  }
  return [...groups.values()];
}

function isValidTicketId(id: string): boolean {
  try {
    stateLocation(TicketState.pending, id);
    return true;
  } catch (err) {
    if (isTqError(err, 'INVALID_ID')) return false;
    throw err;
  }
}

/** A parsed file from moving/, with the exact text it was parsed from, and where it belongs. */
interface Draft {
  ticket: Ticket;
  text: string;
  loc: TicketLocation;
}

/**
 * Where a file of ticket `id` in moving/ belongs: its id and stage from the file name, its state
 * from its status and, for a claim, its holder from claim.worker_id. A file whose ticket_id or
 * worker_type disagrees with the name is not this ticket: a string describing why.
 */
function draftLocation(id: string, t: Ticket, file: string): TicketLocation | string {
  if (t.ticket_id !== id) return `${file}: field ticket_id is ${shown(t.ticket_id)} but the file is a move of ticket ${id}`;
  const stage = stageOfTicketId(id);
  if (t.worker_type !== stage) return `${file}: field worker_type is ${shown(t.worker_type)} but ticket ${id} belongs to stage ${stage}`;
  let loc: TicketLocation;
  if (t.status === TicketState.claimed) {
    if (t.claim === null) return `${file}: field claim is null but status is claimed`;
    try {
      // Why the holder may come from the content here: ticketq itself wrote this claim (from a
      // validated --worker); validateId makes sure a forged one cannot lead out of claimed/.
      loc = claimedLocation(id, t.claim.worker_id);
    } catch (err) {
      if (!isTqError(err, 'INVALID_ID')) throw err;
      return `${file}: field claim.worker_id: ${err.message}`;
    }
  } else {
    // Why the lane from the content too: every mover files a pending ticket by its own
    // priority and not_before (targetLocation), so recovery finishes the move at the same place.
    loc = t.status === TicketState.pending ? pendingLocationOf(id, t) : stateLocation(t.status, id);
  }
  return ticketLocationProblem(t, loc, file)?.message ?? loc;
}

/** Drafted but not committed (next and prev): finish the move. */
async function finishFencedMove(ctx: RunCtx, id: string, next: string, prev: string): Promise<RecoveryAction[]> {
  const actions: RecoveryAction[] = [];
  const draft = await readDraft(ctx, id, next, actions);
  if (draft === 'gone' || draft === 'unusable') {
    // Why: a draft that is gone was committed by someone else; an unusable one (empty, torn by
    // a crash or power cut, or not this ticket) cannot be committed, so the move is undone from prev.
    actions.push(...(await settlePrev(ctx, id, prev)));
    return actions;
  }
  const committed = await commitRecovered(ctx, id, next, draft);
  if (committed === 'gone') {
    actions.push(...(await settlePrev(ctx, id, prev)));
    return actions;
  }
  if (committed !== 'committed') {
    actions.push(...(await keepOutputOf(ctx, id, next, draft.ticket, `ticket ${id} is already ${committed.state} (${committed.path}): this result was not applied`)));
    await setAside(ctx, id, prev, `a copy of ticket ${id} taken by an interrupted move, while the ticket is already ${committed.state} (${committed.path})`, actions);
    await unlinkIfExists(ctx, next);
    return actions;
  }
  await unlinkIfExists(ctx, prev);
  actions.push({ ticket_id: id, action: 'finished move', file: next });
  return actions;
}

/**
 * Publish a draft (or a prev put back) at its location: commitDraft, so a finished ticket is
 * never replaced. 'gone' when the file vanished; the finished copy when one exists already
 * (at the target, or in another finished state, for a move into pending/ or a finished state).
 */
async function commitRecovered(ctx: RunCtx, id: string, file: string, draft: Draft): Promise<'committed' | 'gone' | { state: FinishedState; path: string }> {
  const target = pathOfLocation(ctx, draft.loc);
  if (draft.loc.state !== TicketState.claimed) {
    const other = await finishedCopyOf(ctx, id, [target]);
    if (other) return other;
  }
  await ensureParent(ctx, target);
  let r: 'committed' | 'exists';
  try {
    // Why with the text: a crash between the link and the unlink of a commit leaves the target
    // holding this very version (EEXIST): commitDraft answers 'committed' and drops `file`.
    r = await commitDraft(ctx, file, target, isFinishedState(draft.loc.state), draft.text);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return 'gone';
    throw ioError(err, 'moving', file);
  }
  if (r === 'committed') return r;
  return { state: draft.loc.state as FinishedState, path: target };
}

/**
 * A lone .next: the ticket is elsewhere (an older protocol's draft made before its fence, or the
 * draft of a duplicate set aside): keep any worker output, drop the draft. When the ticket is
 * nowhere else (recovery claimed a lone .prev and crashed before publishing it), publish it.
 */
async function settleLoneNext(ctx: RunCtx, id: string, next: string): Promise<RecoveryAction[]> {
  const actions: RecoveryAction[] = [];
  const draft = await readDraft(ctx, id, next, actions);
  if (draft === 'gone') return actions;
  // Why: an unusable lone .next may have been the ticket's last copy (a claimed .prev).
  if (draft === 'unusable') return [...actions, ...(await restoreIfLost(ctx, id))];
  if ((await locateAll(ctx, id)).length === 0) {
    const committed = await commitRecovered(ctx, id, next, draft);
    if (committed === 'committed') return [...actions, { ticket_id: id, action: 'restored', file: next }];
    if (committed === 'gone') return actions;
  }
  const kept = await keepOutputOf(ctx, id, next, draft.ticket, 'a submit was interrupted before it took effect');
  actions.push(...(kept.length > 0 ? kept : [{ ticket_id: id, action: 'cleared' as const, file: next }]));
  await unlinkIfExists(ctx, next);
  return actions;
}

/** Keep a draft's worker output (if it carries one) in rejected/. */
async function keepOutputOf(ctx: RunCtx, id: string, file: string, draft: Ticket, reason: string): Promise<RecoveryAction[]> {
  if (draft.output_data === null || draft.status === TicketState.pending || draft.status === TicketState.claimed) return [];
  await keepRejectedOutput(ctx, {
    ticket_id: id,
    worker_id: draft.claim?.worker_id ?? '',
    token: draft.claim?.token ?? null,
    reason,
    status: draft.status,
    output_data: draft.output_data,
    worker_concerns: draft.worker_concerns,
    usage: draft.usage,
  });
  return [{ ticket_id: id, action: 'kept aborted output', file }];
}

async function recoverBirth(ctx: RunCtx, id: string, staged: string): Promise<RecoveryAction[]> {
  const actions: RecoveryAction[] = [];
  const read = await readDraft(ctx, id, staged, actions);
  // Why: an unusable .new was never the source of a registry entry (the entry is written
  // from complete text); if the ticket was registered, fsck restores it from registry/.
  if (read === 'gone' || read === 'unusable') return actions;
  const { text, loc } = read;
  const reg = registryPath(ctx, loc.stage, id);
  const registered = await readIfExists(ctx, reg);
  const torn = registered !== undefined && registered.length < text.length && text.startsWith(registered);
  if (loc.state === TicketState.pending && (torn || isBirthRecordOf(registered, read.ticket, text)) && (await locateAll(ctx, id)).length === 0) {
    // Why: a creator that died while writing its record (O_EXCL, then the write) left a prefix
    // of this very text (empty at least): its registration won, so complete it from the staged copy.
    if (torn) await writeFileAtomic(ctx, reg, text);
    await renameIfPresent(ctx, staged, pathOfLocation(ctx, loc));
    return [{ ticket_id: id, action: 'published birth', file: staged }];
  }
  await unlinkIfExists(ctx, staged);
  return [{ ticket_id: id, action: 'dropped unregistered birth', file: staged }];
}

async function renameIfPresent(ctx: RunCtx, from: string, to: string): Promise<void> {
  await ensureParent(ctx, to);
  try {
    await intoDir(ctx, dirname(to), () => ctx.fs.rename(from, to), from);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw ioError(err, 'moving', from);
  }
}

/**
 * A lone .prev: the mover crashed (or stalled past our patience) between its fence and its
 * draft. Drop it if the ticket is elsewhere. Else claim it first: link it to the move's own
 * .next name (O_EXCL). Why: a mover that is only slow may still write its draft; its
 * O_EXCL write of that name then fails and it starts over, instead of committing a move of a
 * ticket we put back (two copies). EEXIST: the mover drafted meanwhile: next round finishes
 * the move. Then publish the claimed copy where its content says it belongs.
 */
async function settleLonePrev(ctx: RunCtx, id: string, prev: string, next: string): Promise<RecoveryAction[]> {
  if ((await locateAll(ctx, id)).length > 0) {
    await unlinkIfExists(ctx, prev);
    return [{ ticket_id: id, action: 'cleared', file: prev }];
  }
  try {
    await ctx.fs.link(prev, next);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'EEXIST' || code === 'ENOENT') return [];
    throw ioError(err, 'claiming', prev);
  }
  await syncDirIfDurable(ctx, ctx.paths.moving);
  await unlinkIfExists(ctx, prev);
  const actions = await settleLoneNext(ctx, id, next);
  // Why: settleLoneNext answers 'restored' for the copy it published; say it came from prev.
  return actions.map((a) => (a.file === next && a.action === 'restored' ? { ...a, file: prev } : a));
}

/** The prev copy of an interrupted move: drop it if the ticket is elsewhere, else put it back. */
async function settlePrev(ctx: RunCtx, id: string, prev: string): Promise<RecoveryAction[]> {
  const elsewhere = await locateAll(ctx, id);
  if (elsewhere.length > 0) {
    await unlinkIfExists(ctx, prev);
    return [{ ticket_id: id, action: 'cleared', file: prev }];
  }
  const actions: RecoveryAction[] = [];
  const read = await readDraft(ctx, id, prev, actions);
  if (read === 'gone') return actions;
  if (read === 'unusable') {
    actions.push(...(await restoreIfLost(ctx, id)));
    return actions;
  }
  const committed = await commitRecovered(ctx, id, prev, read);
  if (committed === 'committed') actions.push({ ticket_id: id, action: 'restored', file: prev });
  else if (committed !== 'gone') await setAside(ctx, id, prev, `a copy of ticket ${id} while the ticket is already ${committed.state} (${committed.path})`, actions);
  return actions;
}

/** After the last copy of a ticket was quarantined: put it back from registry/ if it is nowhere else. */
async function restoreIfLost(ctx: RunCtx, id: string): Promise<RecoveryAction[]> {
  if ((await locateAll(ctx, id)).length > 0 || (await isInFlight(ctx, id))) return [];
  const r = await restoreFromRegistry(ctx, id, { event: 'restored from registry', note: 'its last copy (an interrupted move) was unusable and was quarantined' });
  return 'restored' in r ? [{ ticket_id: id, action: 'restored from registry', file: r.restored }] : [];
}

async function setAside(ctx: RunCtx, id: string, file: string, why: string, actions: RecoveryAction[]): Promise<void> {
  if (await quarantineFile(ctx, file, why)) actions.push({ ticket_id: id, action: 'quarantined', file });
}

/**
 * Read a file of ticket `id` in moving/. A crash between open(O_CREAT) and write leaves it empty
 * (it is removed); a file that is not a valid ticket, or not this ticket (its ticket_id or
 * worker_type disagrees with its name), is quarantined, never thrown on: one bad file must not
 * stop the recovery of all the others.
 */
async function readDraft(ctx: RunCtx, id: string, path: string, actions: RecoveryAction[]): Promise<Draft | 'gone' | 'unusable'> {
  const text = await readIfExists(ctx, path);
  if (text === undefined) return 'gone';
  let ticket: Ticket;
  try {
    ticket = parseTicket(text, path);
  } catch (err) {
    if (!isTqError(err, 'CORRUPT_TICKET')) throw err;
    if (text.trim() === '') {
      await unlinkIfExists(ctx, path);
      actions.push({ ticket_id: id, action: 'cleared', file: path });
    } else {
      await setAside(ctx, id, path, err.message, actions);
    }
    return 'unusable';
  }
  const loc = draftLocation(id, ticket, path);
  if (typeof loc === 'string') {
    await setAside(ctx, id, path, loc, actions);
    return 'unusable';
  }
  return { ticket, text, loc };
}
