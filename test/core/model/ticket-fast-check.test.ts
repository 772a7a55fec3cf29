import { describe, expect, it } from 'vitest';
import { fastCheckTicket } from '../../../src/core/model/ticket-fast-check.js';
import { Ticket } from '../../../src/core/model/ticket-schema.js';
import { parseTicket, serializeTicket } from '../../../src/core/model/serialize-ticket.js';
import { isTqError } from '../../../src/core/model/errors.js';

const AT = '2026-11-30T06:55:21.123Z';

/** Tickets in every shape the queue writes: fresh, claimed, finished with everything optional present. */
function tickets(): Record<string, unknown>[] {
  const pending = {
    ticket_id: 'work-0abc-1',
    run_id: 'r',
    worker_type: 'work',
    status: 'pending',
    input_data: { id: 'doc-1', text: 'x', nested: { a: [1, { b: null }] }, 10: 'numeric key' },
    output_data: null,
    worker_concerns: [],
    usage: null,
    attempts: 0,
    claim_count: 0,
    claim: null,
    lineage: { parents: [], root_id: 'work-0abc-1', source_refs: [] },
    item_key: 'id:doc-1',
    created_at: AT,
    completed_at: null,
    history: [{ at: AT, event: 'created', to: 'pending' }],
  };
  const claimed = { ...pending, status: 'claimed', claim_count: 1, claim: { worker_id: 'w', claimed_at: AT, lease_expires_at: AT, token: 'work-0abc-1#1' }, history: [...pending.history, { at: AT, event: 'claimed', from: 'pending', to: 'claimed', worker_id: 'w' }] };
  const done = {
    ...claimed,
    status: 'completed',
    output_data: { summary: 's', list: [1, 2] },
    worker_concerns: [{ level: 'review', message: 'm', suggestion: 's', worker_id: 'w', at: AT }, { level: 'info', message: 'only' }],
    usage: { input_tokens: 1, output_tokens: 2, total_tokens: 3, cost_usd: 0.5, model: 'm', duration_ms: 12.5 },
    attempts: 2,
    priority: -3,
    not_before: AT,
    attempt_errors: [{ at: AT, attempt: 1, worker_id: 'w', error: 'e', stderr_tail: 't' }, { at: AT, attempt: 2, worker_id: 'w', error: 'e' }],
    lineage: { parents: ['p-1'], root_id: 'p-1', source_refs: ['a.json#/x'], key: 'k' },
    completed_at: AT,
    history: [...claimed.history, { at: AT, event: 'submitted', from: 'claimed', to: 'completed', worker_id: 'w', note: 'n' }],
  };
  // Keys in another order than the schema's, and keys the schema does not know.
  const reordered = Object.fromEntries(Object.entries({ ...done, extra: 1, claim: { token: 't', extra: 2, lease_expires_at: AT, claimed_at: AT, worker_id: 'w' } }).reverse());
  return [pending, claimed, done, reordered];
}

const BAD_VALUES: unknown[] = [undefined, null, 1, -1, 1.5, 2 ** 60, 1e400, 0, '', 'x', 'not a date', '2026-13-45T99:99:99Z', AT, [], ['x'], [1], {}, { level: 'info' }, true];

/** Every variant of `t` with one value (at any depth) replaced by a bad one, removed, or given an unknown key. */
function* mutations(value: unknown): Generator<unknown> {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) for (const m of mutations(value[i])) yield value.map((x, j) => (j === i ? m : x));
    yield [...value, 'extra'];
  } else if (typeof value === 'object' && value !== null) {
    const obj = value as Record<string, unknown>;
    for (const key of Object.keys(obj)) {
      const { [key]: _dropped, ...rest } = obj;
      yield rest;
      for (const m of mutations(obj[key])) yield { ...obj, [key]: m };
    }
    yield { ...obj, unknown_key: 1 };
    yield JSON.parse(`{"__proto__": {"x": 1}, ${JSON.stringify(obj).slice(1)}`.replace(', }', '}'));
  }
  for (const bad of BAD_VALUES) yield bad;
}

/** The fast check may only answer what zod answers: the same object, key order included. */
function expectSameAsZod(raw: unknown): boolean {
  const fast = fastCheckTicket(raw);
  if (fast === undefined) return false;
  const zod = Ticket.safeParse(raw);
  expect(zod.success).toBe(true);
  expect(JSON.stringify(fast)).toBe(JSON.stringify(zod.data));
  expect(fast).toStrictEqual(zod.data);
  return true;
}

describe('fastCheckTicket', () => {
  it('answers every ticket shape the queue writes, exactly as zod parses it', () => {
    for (const t of tickets()) {
      const raw = JSON.parse(JSON.stringify(t)) as unknown;
      expect(expectSameAsZod(raw)).toBe(true);
      expect(fastCheckTicket(raw)).not.toBe(raw);
    }
  });

  it('never accepts what zod refuses, nor answers differently, for any one-field mutation', () => {
    let answered = 0;
    let total = 0;
    for (const t of tickets()) {
      for (const m of mutations(t)) {
        total += 1;
        const raw = m === undefined ? undefined : (JSON.parse(JSON.stringify(m) ?? 'null') as unknown);
        if (expectSameAsZod(raw)) answered += 1;
        if (!Ticket.safeParse(raw).success) expect(fastCheckTicket(raw)).toBeUndefined();
      }
    }
    // Both kinds occur: mutations the fast check takes (unknown keys stripped ...) and ones it leaves to zod.
    expect(answered).toBeGreaterThan(50);
    expect(total - answered).toBeGreaterThan(500);
  });

  it('leaves the error of a bad ticket to zod: parseTicket names the same field as before', () => {
    const text = serializeTicket({ ...(tickets()[1] as Ticket), claim_count: -1 });
    try {
      parseTicket(text, 'f.json');
      expect.unreachable();
    } catch (err) {
      expect(isTqError(err, 'CORRUPT_TICKET')).toBe(true);
      expect((err as { field?: string }).field).toBe('claim_count');
    }
  });
});
