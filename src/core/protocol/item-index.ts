import { z } from 'zod';
import { TqError, errnoCode, ioError } from '../model/errors.js';
import { cleanId, stageOfTicketId } from '../model/ids.js';
import type { ItemKey } from '../model/item-key.js';
import { stripBom } from '../model/serialize-ticket.js';
import { formatZodError } from '../model/zod-messages.js';
import { createFileExclusive } from '../store/atomic-write.js';
import type { RunCtx } from '../store/run-context.js';
import { itemFileName } from '../store/run-names.js';

/** `items/<stage>/<stem>.json`: an input item was added to the stage, as this ticket. */
export const ItemEntry = z.object({
  item_key: z.string(),
  ticket_id: z.string(),
  content_hash: z.string(),
  added_at: z.string(),
});
export type ItemEntry = z.infer<typeof ItemEntry>;

/** Largest item entry read (they are a few hundred bytes; anything bigger was not written by tq). */
const MAX_ENTRY_BYTES = 64 * 1024;

/** What recording an item found. */
export type ItemRecord =
  /** The item is new: `ticketId` (the one offered) is its ticket, to be born now. */
  | { kind: 'new'; ticketId: string }
  /** The same item (same key, same content) was recorded before, as `ticketId`. */
  | { kind: 'same'; ticketId: string }
  /** An item with the same id but other content was recorded before, as `ticketId`. */
  | { kind: 'changed'; ticketId: string; file: string };

export function itemEntryPath(ctx: RunCtx, stage: string, key: ItemKey): string {
  // Why a template, not join: the stage is a validated id and the stem is made of safe characters
  // (model/item-key.ts); join's normalising showed in a create profile.
  return `${ctx.paths.items}/${stage}/${itemFileName(key.stem)}`;
}

/**
 * Record that input item `key` of `stage` is the ticket `ticketId`, unless it was recorded
 * before: then say which ticket it is. Called before the ticket's birth:
 *
 *   1. create items/<stage>/<stem>.json naming ticketId    <- O_EXCL (link): the first adder wins
 *   2. birth the ticket named there (protocol/birth-ticket.ts: O_EXCL again, in registry/)
 *
 * RACE: two adders of the same item both reach 2 with the same ticket id, and the registry lets
 * one birth happen. A crash between 1 and 2 leaves an entry naming a ticket never born: the next
 * add of the item finds the entry, finds no birth record, and births that ticket then. The entry
 * is only ever created, never rewritten, so what it says is what the first adder decided.
 */
export async function recordItem(ctx: RunCtx, stage: string, key: ItemKey, ticketId: string): Promise<ItemRecord> {
  const file = itemEntryPath(ctx, stage, key);
  const entry: ItemEntry = { item_key: key.key, ticket_id: ticketId, content_hash: key.contentHash, added_at: ctx.clock.now().toISOString() };
  if (await createFileExclusive(ctx, file, `${JSON.stringify(entry, null, 2)}\n`)) return { kind: 'new', ticketId };
  const found = await readItemEntry(ctx, file, stage);
  if (found.item_key !== key.key) {
    throw new TqError('CORRUPT_TICKET', `${file}: item_key is ${JSON.stringify(found.item_key)}, not the key its name stands for (${JSON.stringify(key.key)})`, {
      file,
      field: 'item_key',
      hint: 'item entries are written once by tq and never edited: restore it from git, or remove it (the item is then added again)',
    });
  }
  return found.content_hash === key.contentHash ? { kind: 'same', ticketId: found.ticket_id } : { kind: 'changed', ticketId: found.ticket_id, file };
}

/** An item entry, checked: its ticket id is a valid id of `stage` (it becomes a path). */
async function readItemEntry(ctx: RunCtx, file: string, stage: string): Promise<ItemEntry> {
  let text: string;
  try {
    // Why bounded and through the Fs layer: a link or a FIFO planted here is never followed or opened.
    text = await ctx.fs.readFile(file, MAX_ENTRY_BYTES);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'EFBIG' || code === 'ELOOP' || code === 'EFTYPE') throw corrupt(file, code === 'EFBIG' ? 'too big for an item entry' : 'not a regular file');
    // Why ENOENT is an error: an entry is created complete (link from .tmp/) and tq never removes one.
    throw ioError(err, 'reading', file);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(stripBom(text));
  } catch (err) {
    throw corrupt(file, `not valid JSON: ${(err as Error).message}`);
  }
  const parsed = ItemEntry.safeParse(raw);
  if (!parsed.success) throw corrupt(file, formatZodError(parsed.error), parsed.error.issues[0]?.path.join('.'));
  let ticketId: string;
  try {
    ticketId = cleanId(parsed.data.ticket_id, 'ticket id');
  } catch (err) {
    throw corrupt(file, `ticket_id: ${(err as Error).message}`, 'ticket_id');
  }
  if (stageOfTicketId(ticketId) !== stage) throw corrupt(file, `ticket_id ${ticketId} is not a ticket of stage ${stage}`, 'ticket_id');
  return { ...parsed.data, ticket_id: ticketId };
}

function corrupt(file: string, why: string, field?: string): TqError {
  return new TqError('CORRUPT_TICKET', `${file}: ${why}`, {
    file,
    ...(field ? { field } : {}),
    hint: 'item entries are written once by tq and never edited: restore it from git, or remove it (the item is then added again)',
  });
}
