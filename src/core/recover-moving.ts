import { join } from 'node:path';
import { errnoCode, ioError } from './errors.js';
import { locateAll } from './locate-ticket.js';
import { registryPath } from './birth-ticket.js';
import { ensureParent, pathForTicket, type RunCtx } from './run-context.js';
import { parseTicket } from './serialize-ticket.js';
import { keepRejectedOutput } from './reject-output.js';
import { quarantineFile } from './quarantine.js';
import { listDir, readIfExists, unlinkIfExists } from './atomic-write.js';

export interface RecoveryAction {
  ticket_id: string;
  action: 'finished move' | 'cleared' | 'restored' | 'published birth' | 'dropped unregistered birth' | 'kept aborted output' | 'quarantined';
  file: string;
}

const NAME_RE = /^(.+)~([0-9a-f]+)\.(next|prev|new)\.json$/;

/** Wait, then keep only names seen both times: live operations finish within milliseconds. */
export async function settledListing(ctx: RunCtx, dir: string, settleMs: number): Promise<string[]> {
  const first = await listDir(ctx, dir);
  if (settleMs <= 0 || first.length === 0) return first;
  await new Promise((r) => setTimeout(r, settleMs));
  const second = new Set(await listDir(ctx, dir));
  return first.filter((n) => second.has(n));
}

/**
 * Finish or undo what crashed processes left in moving/ (see move-ticket.ts and
 * birth-ticket.ts for the protocol). Only entries that stayed put for `settleMs` are touched.
 */
export async function recoverMoving(ctx: RunCtx, settleMs: number): Promise<RecoveryAction[]> {
  const names = await settledListing(ctx, ctx.paths.moving, settleMs);
  const groups = new Map<string, { id: string; next?: string; prev?: string; new?: string }>();
  const actions: RecoveryAction[] = [];
  for (const name of names) {
    const m = NAME_RE.exec(name);
    if (!m) {
      const file = join(ctx.paths.moving, name);
      await quarantineFile(ctx, file, 'unexpected file in moving/');
      actions.push({ ticket_id: '', action: 'quarantined', file });
      continue;
    }
    const key = `${m[1]}~${m[2]}`;
    const g = groups.get(key) ?? { id: m[1] as string };
    g[m[3] as 'next' | 'prev' | 'new'] = join(ctx.paths.moving, name);
    groups.set(key, g);
  }
  for (const g of groups.values()) {
    if (g.new) actions.push(...(await recoverBirth(ctx, g.id, g.new)));
    if (g.next && g.prev) {
      // Fenced but not committed: finish the move.
      const text = await readIfExists(ctx, g.next);
      if (text !== undefined) {
        const target = pathForTicket(ctx, parseTicket(text, g.next));
        await ensureParent(ctx, target);
        await renameIfPresent(ctx, g.next, target);
      }
      await unlinkIfExists(ctx, g.prev);
      actions.push({ ticket_id: g.id, action: 'finished move', file: g.next });
    } else if (g.prev) {
      const elsewhere = await locateAll(ctx, g.id);
      if (elsewhere.length > 0) {
        await unlinkIfExists(ctx, g.prev);
        actions.push({ ticket_id: g.id, action: 'cleared', file: g.prev });
      } else {
        const text = await readIfExists(ctx, g.prev);
        if (text === undefined) continue;
        const target = pathForTicket(ctx, parseTicket(text, g.prev));
        await ensureParent(ctx, target);
        await renameIfPresent(ctx, g.prev, target);
        actions.push({ ticket_id: g.id, action: 'restored', file: g.prev });
      }
    } else if (g.next) {
      // Never fenced: the source is still where it was. Keep any worker output, drop the draft.
      const text = await readIfExists(ctx, g.next);
      if (text === undefined) continue;
      const draft = parseTicket(text, g.next);
      const elsewhere = await locateAll(ctx, g.id);
      if (elsewhere.length === 0) {
        const target = pathForTicket(ctx, draft);
        await ensureParent(ctx, target);
        await renameIfPresent(ctx, g.next, target);
        actions.push({ ticket_id: g.id, action: 'restored', file: g.next });
        continue;
      }
      if (draft.output_data !== null && draft.status !== 'pending' && draft.status !== 'claimed') {
        await keepRejectedOutput(ctx, {
          ticket_id: g.id,
          worker_id: draft.claim?.worker_id ?? '',
          token: draft.claim?.token ?? null,
          reason: 'a submit was interrupted before it took effect',
          status: draft.status,
          output_data: draft.output_data,
          worker_concerns: draft.worker_concerns,
          usage: draft.usage,
        });
        actions.push({ ticket_id: g.id, action: 'kept aborted output', file: g.next });
      } else {
        actions.push({ ticket_id: g.id, action: 'cleared', file: g.next });
      }
      await unlinkIfExists(ctx, g.next);
    }
  }
  return actions;
}

async function recoverBirth(ctx: RunCtx, id: string, staged: string): Promise<RecoveryAction[]> {
  const text = await readIfExists(ctx, staged);
  if (text === undefined) return [];
  const ticket = parseTicket(text, staged);
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
    await ctx.fs.rename(from, to);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw ioError(err, 'moving', from);
  }
}
