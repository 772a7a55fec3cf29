import { sha256Hex } from './lazy-crypto.js';
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
  const contentHash = `sha256:${sha256Hex(canonicalJson(item))}`;
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
  // Why two ways: the replacer below is the definition; plainCanonicalJson writes the same text
  // for plain JSON data (what input items are) at about half the cost, and gives up otherwise.
  return plainCanonicalJson(value) ?? replacerCanonicalJson(value);
}

function replacerCanonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
    // Why fromEntries: it defines each key as data, so a "__proto__" key stays a key.
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]]));
  });
}

/**
 * canonicalJson of plain JSON data (strings, finite numbers, booleans, null, arrays, plain
 * objects), or undefined for anything else (undefined, a Date, a key that is an array index:
 * JSON.stringify puts those first, whatever the sort says), which the replacer then writes.
 */
function plainCanonicalJson(v: unknown): string | undefined {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      return Number.isFinite(v) ? JSON.stringify(v) : undefined;
    case 'object':
      return Array.isArray(v) ? plainCanonicalArray(v) : plainCanonicalObject(v as Record<string, unknown>);
    default:
      return undefined;
  }
}

function plainCanonicalArray(v: unknown[]): string | undefined {
  let out = '[';
  for (let i = 0; i < v.length; i += 1) {
    const s = plainCanonicalJson(v[i]);
    if (s === undefined) return undefined;
    out += i === 0 ? s : `,${s}`;
  }
  return `${out}]`;
}

function plainCanonicalObject(v: Record<string, unknown>): string | undefined {
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return undefined;
  const keys = Object.keys(v).sort();
  let out = '{';
  for (let i = 0; i < keys.length; i += 1) {
    const k = keys[i] as string;
    const first = k.charCodeAt(0);
    if (first >= 48 && first <= 57) return undefined;
    const s = plainCanonicalJson(v[k]);
    if (s === undefined) return undefined;
    out += `${i === 0 ? '' : ','}${JSON.stringify(k)}:${s}`;
  }
  return `${out}}`;
}
