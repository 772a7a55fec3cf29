import { createHash } from 'node:crypto';
import { shortHash, slugOf } from './ids.js';
import type { JsonObject } from './ticket-schema.js';

/** The field of an input item that names it: an item with the same `id` is the same item. */
export const ITEM_ID_FIELD = 'id';

/** What makes an input item the same item as one added before (see itemKeyOf). */
export interface ItemKey {
  /** `id:<the item's id>` or `sha256:<hash of its canonical JSON>`: recorded in the ticket as `item_key`. */
  key: string;
  /** `sha256:<hex>` of the item's canonical JSON: tells a changed item from a repeat. */
  contentHash: string;
  /** The name of its entry in `items/<stage>/` (without `.json`): readable, and safe as a file name. */
  stem: string;
}

/**
 * The key of an input item, which `tq add` / `tq create --input` record at birth so that adding
 * the same item again adds nothing: the item's own `id` field when it has one (a non-empty
 * string or a number), else a SHA-256 of its canonical JSON (keys sorted at every level, so
 * `{"a":1,"b":2}` and `{"b":2,"a":1}` are the same item). Why `id` wins over the content: a
 * work item re-exported with a changed field is still that item; tq reports it rather than
 * adding a second ticket for it.
 */
export function itemKeyOf(item: JsonObject): ItemKey {
  const contentHash = `sha256:${createHash('sha256').update(canonicalJson(item)).digest('hex')}`;
  const id = item[ITEM_ID_FIELD];
  if ((typeof id === 'string' && id.trim() !== '') || (typeof id === 'number' && Number.isFinite(id))) {
    const key = `id:${String(id)}`;
    // Why slug + hash: the slug lets `ls items/<stage>` tell a human which item an entry is;
    // the hash keeps ids that slug alike (case, punctuation, non-ASCII) apart.
    return { key, contentHash, stem: `id-${slugOf(String(id), 40)}-${shortHash(key, 16)}` };
  }
  return { key: contentHash, contentHash, stem: `sha256-${contentHash.slice('sha256:'.length, 'sha256:'.length + 40)}` };
}

/** JSON with object keys sorted at every level: one text per value, whatever the key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
    // Why fromEntries: it defines each key as data, so a "__proto__" key stays a key.
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]]));
  });
}
