import { dirname, join } from 'node:path';
import { errnoCode, ioError, isTqError } from '../model/errors.js';
import { locateAll } from './locate-ticket.js';
import { registryPath } from './birth-ticket.js';
import { ensureParent, intoDir, pathForTicket, type RunCtx } from '../store/run-context.js';
import { parseTicket } from '../model/serialize-ticket.js';
import type { Ticket } from '../model/ticket-schema.js';
import { keepRejectedOutput } from '../store/reject-output.js';
import { quarantineFile } from '../store/quarantine.js';
import { listDir, readIfExists, unlinkIfExists } from '../store/atomic-write.js';
import { isMovingFileOf, parseMovingFileName } from '../store/run-names.js';

export interface RecoveryAction {
  ticket_id: string;
  action: 'finished move' | 'cleared' | 'restored' | 'published birth' | 'dropped unregistered birth' | 'kept aborted output' | 'quarantined';
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
  id: string;
  next?: string;
  prev?: string;
  new?: string;
}

/**
 * Finish or undo what crashed processes left in moving/ (see move-ticket.ts and
 * birth-ticket.ts for the protocol). Only entries that stayed put for `settleMs` are touched.
 */
export async function recoverMoving(ctx: RunCtx, settleMs: number, onlyTicketId?: string): Promise<RecoveryAction[]> {
  const all = await settledListing(ctx, ctx.paths.moving, settleMs);
  const names = onlyTicketId === undefined ? all : all.filter((n) => isMovingFileOf(n, onlyTicketId));
  const actions: RecoveryAction[] = [];
  for (const g of await groupMovingFiles(ctx, names, actions)) {
    if (g.new) actions.push(...(await recoverBirth(ctx, g.id, g.new)));
    if (g.next && g.prev) actions.push(...(await finishFencedMove(ctx, g.id, g.next, g.prev)));
    else if (g.prev) actions.push(...(await settlePrev(ctx, g.id, g.prev)));
    else if (g.next) actions.push(...(await dropUnfencedDraft(ctx, g.id, g.next)));
  }
  return actions;
}

/** Group the names of moving/ by move; a name that is no moving file is quarantined. */
async function groupMovingFiles(ctx: RunCtx, names: string[], actions: RecoveryAction[]): Promise<MovingGroup[]> {
  const groups = new Map<string, MovingGroup>();
  for (const name of names) {
    const m = parseMovingFileName(name);
    if (!m) {
      const file = join(ctx.paths.moving, name);
      await quarantineFile(ctx, file, 'unexpected file in moving/');
      actions.push({ ticket_id: '', action: 'quarantined', file });
      continue;
    }
    const key = `${m.ticketId}~${m.n}`;
    const g = groups.get(key) ?? { id: m.ticketId };
    g[m.kind] = join(ctx.paths.moving, name);
    groups.set(key, g);
  }
  return [...groups.values()];
}

/** Fenced but not committed (next and prev): finish the move. */
async function finishFencedMove(ctx: RunCtx, id: string, next: string, prev: string): Promise<RecoveryAction[]> {
  const actions: RecoveryAction[] = [];
  const draft = await readDraft(ctx, id, next, actions);
  if (draft === 'gone' || draft === 'unusable') {
    // Why: a draft that is gone was committed by someone else; an unusable one (empty or
    // torn by a crash or power cut) cannot be committed, so the move is undone from prev.
    actions.push(...(await settlePrev(ctx, id, prev)));
    return actions;
  }
  const target = pathForTicket(ctx, draft.ticket);
  await ensureParent(ctx, target);
  await renameIfPresent(ctx, next, target);
  await unlinkIfExists(ctx, prev);
  actions.push({ ticket_id: id, action: 'finished move', file: next });
  return actions;
}

/** Never fenced (next alone): the source is still where it was. Keep any worker output, drop the draft. */
async function dropUnfencedDraft(ctx: RunCtx, id: string, next: string): Promise<RecoveryAction[]> {
  const actions: RecoveryAction[] = [];
  const read = await readDraft(ctx, id, next, actions);
  if (read === 'gone' || read === 'unusable') return actions;
  const draft = read.ticket;
  const elsewhere = await locateAll(ctx, id);
  if (elsewhere.length === 0) {
    const target = pathForTicket(ctx, draft);
    await ensureParent(ctx, target);
    await renameIfPresent(ctx, next, target);
    actions.push({ ticket_id: id, action: 'restored', file: next });
    return actions;
  }
  if (draft.output_data !== null && draft.status !== 'pending' && draft.status !== 'claimed') {
    await keepRejectedOutput(ctx, {
      ticket_id: id,
      worker_id: draft.claim?.worker_id ?? '',
      token: draft.claim?.token ?? null,
      reason: 'a submit was interrupted before it took effect',
      status: draft.status,
      output_data: draft.output_data,
      worker_concerns: draft.worker_concerns,
      usage: draft.usage,
    });
    actions.push({ ticket_id: id, action: 'kept aborted output', file: next });
  } else {
    actions.push({ ticket_id: id, action: 'cleared', file: next });
  }
  await unlinkIfExists(ctx, next);
  return actions;
}

async function recoverBirth(ctx: RunCtx, id: string, staged: string): Promise<RecoveryAction[]> {
  const actions: RecoveryAction[] = [];
  const read = await readDraft(ctx, id, staged, actions);
  // Why: an unusable .new was never the source of a registry entry (the entry is written
  // from complete text); if the ticket was registered, fsck restores it from registry/.
  if (read === 'gone' || read === 'unusable') return actions;
  const { ticket, text } = read;
  const registered = await readIfExists(ctx, registryPath(ctx, ticket.worker_type, id));
  if (registered === text && (await locateAll(ctx, id)).length === 0) {
    const target = pathForTicket(ctx, ticket);
    await ensureParent(ctx, target);
    await renameIfPresent(ctx, staged, target);
    return [{ ticket_id: id, action: 'published birth', file: staged }];
  }
  await unlinkIfExists(ctx, staged);
  return [{ ticket_id: id, action: 'dropped unregistered birth', file: staged }];
}

async function renameIfPresent(ctx: RunCtx, from: string, to: string): Promise<void> {
  try {
    await intoDir(ctx, dirname(to), () => ctx.fs.rename(from, to));
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw ioError(err, 'moving', from);
  }
}

/** A parsed file from moving/, with the exact text it was parsed from. */
interface Draft {
  ticket: Ticket;
  text: string;
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
  if (read === 'gone' || read === 'unusable') return actions;
  const target = pathForTicket(ctx, read.ticket);
  await ensureParent(ctx, target);
  await renameIfPresent(ctx, prev, target);
  return [{ ticket_id: id, action: 'restored', file: prev }];
}

/**
 * Read a file in moving/. A crash between open(O_CREAT) and write leaves it empty (it is
 * removed); a file that is not a valid ticket for any other reason is quarantined, never
 * thrown on: one bad file must not stop the recovery of all the others.
 */
async function readDraft(ctx: RunCtx, id: string, path: string, actions: RecoveryAction[]): Promise<Draft | 'gone' | 'unusable'> {
  const text = await readIfExists(ctx, path);
  if (text === undefined) return 'gone';
  try {
    return { ticket: parseTicket(text, path), text };
  } catch (err) {
    if (!isTqError(err, 'CORRUPT_TICKET')) throw err;
    if (text.trim() === '') {
      await unlinkIfExists(ctx, path);
      actions.push({ ticket_id: id, action: 'cleared', file: path });
    } else {
      await quarantineFile(ctx, path, err.message);
      actions.push({ ticket_id: id, action: 'quarantined', file: path });
    }
    return 'unusable';
  }
}
