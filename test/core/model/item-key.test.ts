import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson, itemKeyOf } from '../../../src/core/model/item-key.js';
import { shortHash } from '../../../src/core/model/ids.js';

/** The definition canonicalJson must keep: JSON.stringify with every object's keys sorted (as data). */
function definition(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]]));
  });
}

const VALUES: unknown[] = [
  { id: 'doc-1', lang: 'fr', text: 'é "quoted" \\ \n \u2028', tags: ['b', 'a'], n: -0, f: 1.5e-7, big: 1e21 },
  { b: { d: [1, { z: null, a: true }], c: false }, a: [] },
  { 10: 'index keys', 9: 'go first', a: 1, '01': 'not an index' },
  JSON.parse('{"__proto__": {"x": 1}, "a": 2}'),
  { u: undefined, a: 1 },
  { arr: [undefined, () => 1, Number.NaN, Infinity] },
  { when: new Date(0), a: { toJSON: () => 'j' } },
  Object.assign(Object.create(null), { b: 1, a: 2 }),
  [{ b: 1, a: 2 }, 'x', 3, null],
  'text',
  {},
];

describe('canonicalJson', () => {
  it('writes exactly what its definition writes, for plain data and for anything else', () => {
    for (const v of VALUES) expect(canonicalJson(v)).toBe(definition(v));
  });

  it('keys an item by its id and its content hash (sha256 of the canonical text)', () => {
    const item = { text: 't', id: 'doc-1' };
    const key = itemKeyOf(item);
    expect(key.contentHash).toBe(`sha256:${createHash('sha256').update('{"id":"doc-1","text":"t"}').digest('hex')}`);
    expect(key.key).toBe('id:doc-1');
    expect(key.stem).toBe(`id-doc_1-${createHash('sha256').update('id:doc-1').digest('hex').slice(0, 16)}`);
    expect(shortHash('é')).toBe(createHash('sha256').update('é').digest('hex').slice(0, 10));
  });
});
