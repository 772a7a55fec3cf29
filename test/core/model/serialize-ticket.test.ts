import { describe, expect, it } from 'vitest';
import { parseTicket, serializeTicket } from '../../../src/core/model/serialize-ticket.js';
import { TICKET_KEY_ORDER, type Ticket } from '../../../src/core/model/ticket-schema.js';

const AT = '2026-11-30T06:55:21.123Z';
const TICKET: Ticket = {
  ticket_id: 'work-1',
  run_id: 'r',
  worker_type: 'work',
  status: 'pending',
  input_data: { b: 1, a: 2 },
  output_data: null,
  worker_concerns: [],
  usage: null,
  attempts: 0,
  claim_count: 0,
  claim: null,
  lineage: { parents: [], root_id: 'work-1', source_refs: [] },
  created_at: AT,
  completed_at: null,
  history: [{ at: AT, event: 'created', to: 'pending' }],
};

/** What serializeTicket is defined to write: the schema's keys in its order, undefined ones left out. */
function definition(t: Ticket): string {
  const ordered: Record<string, unknown> = {};
  for (const key of TICKET_KEY_ORDER) if (t[key] !== undefined) ordered[key] = t[key];
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

describe('serializeTicket', () => {
  it('writes the schema order whatever order, extra keys or undefined fields the object has', () => {
    const variants: Ticket[] = [
      TICKET,
      { ...TICKET, priority: 3, not_before: AT },
      Object.fromEntries(Object.entries({ ...TICKET, priority: 3 }).reverse()) as Ticket,
      { ...TICKET, item_key: undefined, priority: undefined },
      { ...TICKET, extra: 1 } as Ticket,
      Object.assign(Object.create({ inherited: 1 }) as Ticket, TICKET),
    ];
    for (const t of variants) expect(serializeTicket(t)).toBe(definition(t));
  });

  it('round-trips through parseTicket', () => {
    const text = serializeTicket({ ...TICKET, priority: -2 });
    expect(serializeTicket(parseTicket(text, 'f.json'))).toBe(text);
  });
});
