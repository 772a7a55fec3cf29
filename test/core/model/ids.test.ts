import { describe, expect, it } from 'vitest';
import { childTicketId, cleanId, MAX_TICKET_ID, newTicketId, slugOf, stageOfTicketId, validateId } from '../../../src/core/model/ids.js';
import { isTqError } from '../../../src/core/model/errors.js';

function invalid(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(isTqError(err, 'INVALID_ID')).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected INVALID_ID');
}

describe('validateId', () => {
  it.each([
    ['../etc', 'ticket id'],
    ['parse-../x', 'ticket id'],
    ['a/b-c', 'ticket id'],
    ['a\\b-c', 'ticket id'],
    ['parse-a\0b', 'ticket id'],
    ['.hidden-x', 'ticket id'],
    ['..', 'run id'],
    ['.', 'run id'],
    ['run/../../x', 'run id'],
    ['w orker', 'worker id'],
    ['', 'worker id'],
  ] as const)('refuses %j as a %s', (text, kind) => {
    invalid(() => validateId(text, kind));
  });

  it('refuses unicode look-alikes (Cyrillic а, fullwidth digits, NBSP)', () => {
    expect(invalid(() => validateId('p\u0430rse-1', 'ticket id'))).toMatch(/look-alike|non-ASCII/);
    expect(invalid(() => validateId('agent-\uff17', 'worker id'))).toMatch(/non-ASCII/);
    expect(invalid(() => validateId('agent\u00a07', 'worker id'))).toMatch(/non-ASCII|spaces/);
    invalid(() => validateId('tr\u0430nslate', 'stage'));
  });

  it('refuses very long ids, naming the limit', () => {
    expect(invalid(() => validateId(`parse-${'x'.repeat(MAX_TICKET_ID)}`, 'ticket id'))).toContain(`${MAX_TICKET_ID}`);
    invalid(() => validateId('w'.repeat(65), 'worker id'));
    invalid(() => validateId('r'.repeat(101), 'run id'));
    // the message stays short even for a huge id
    expect(invalid(() => validateId('r'.repeat(100_000), 'run id')).length).toBeLessThan(300);
  });

  it('refuses reserved suffixes and ticket ids without a stage prefix', () => {
    invalid(() => validateId('parse-1.result', 'ticket id'));
    invalid(() => validateId('parse-1.heartbeat', 'ticket id'));
    invalid(() => validateId('parse1', 'ticket id'));
  });

  it("refuses worker ids ending in .tmp (git would ignore claimed/<worker>/ through the run's .gitignore)", () => {
    expect(invalid(() => validateId('agent.tmp', 'worker id'))).toMatch(/\.gitignore/);
    expect(() => validateId('agent.tmp2', 'worker id')).not.toThrow();
  });

  it('accepts ordinary names', () => {
    expect(() => validateId('parse-0mwxga65t000-15nms', 'ticket id')).not.toThrow();
    expect(() => validateId('agent-7', 'worker id')).not.toThrow();
    expect(() => validateId('gallia_2024.v2', 'run id')).not.toThrow();
    expect(() => validateId('translate_fr', 'stage')).not.toThrow();
  });

  it('the error names the field', () => {
    try {
      validateId('../x', 'worker id');
    } catch (err) {
      expect(isTqError(err) && err.field).toBe('worker id');
      expect(isTqError(err) && err.hint).toBeTruthy();
    }
  });
});

describe('cleanId (forgiving input)', () => {
  it('trims whitespace, strips one pair of quotes and a .json suffix on ticket ids', () => {
    expect(cleanId('  parse-abc \n', 'ticket id')).toBe('parse-abc');
    expect(cleanId('"parse-abc"', 'ticket id')).toBe('parse-abc');
    expect(cleanId("'parse-abc'", 'ticket id')).toBe('parse-abc');
    expect(cleanId('`parse-abc`', 'ticket id')).toBe('parse-abc');
    expect(cleanId(' "parse-abc.json" ', 'ticket id')).toBe('parse-abc');
    expect(cleanId('agent-7', 'worker id')).toBe('agent-7');
    expect(cleanId(42, 'run id')).toBe('42');
  });

  it('is still strict after cleaning', () => {
    invalid(() => cleanId('"../x.json"', 'ticket id'));
    invalid(() => cleanId('"', 'ticket id'));
    invalid(() => cleanId(undefined, 'worker id'));
    invalid(() => cleanId({}, 'worker id'));
    // .json is only stripped from ticket ids
    expect(cleanId('run.json', 'run id')).toBe('run.json');
  });
});

describe('ticket ids', () => {
  it('stageOfTicketId is the part before the first dash', () => {
    expect(stageOfTicketId('translate-k-hexagone-abc')).toBe('translate');
  });

  it('newTicketId sorts by creation and is unique within a millisecond', () => {
    const now = new Date('2030-01-01T00:00:00Z');
    const ids = Array.from({ length: 50 }, () => newTicketId('parse', now));
    expect(new Set(ids).size).toBe(50);
    const prefixes = ids.map((i) => i.split('-')[1]);
    expect([...prefixes].sort()).toEqual(prefixes);
    for (const id of ids) expect(() => validateId(id, 'ticket id')).not.toThrow();
  });

  it('childTicketId is deterministic', () => {
    const a = childTicketId({ to: 'translate', parentId: 'parse-0mwx-abc' });
    expect(a).toBe(childTicketId({ to: 'translate', parentId: 'parse-0mwx-abc' }));
    expect(a).toBe('translate-0mwx-abc');
    const i0 = childTicketId({ to: 'curate', parentId: 'translate-0mwx-abc', index: 0 });
    const i1 = childTicketId({ to: 'curate', parentId: 'translate-0mwx-abc', index: 1 });
    expect(i0).not.toBe(i1);
    expect(childTicketId({ to: 'x', parentId: 'p-1', ruleTag: 'r1' })).not.toBe(childTicketId({ to: 'x', parentId: 'p-1', ruleTag: 'r2' }));
  });

  it('keyed child ids depend on the key alone (dedupe across parents)', () => {
    const a = childTicketId({ to: 'curate', parentId: 'translate-a', key: 'Hexagone' });
    const b = childTicketId({ to: 'curate', parentId: 'translate-b', key: 'Hexagone' });
    expect(a).toBe(b);
    expect(a).toMatch(/^curate-k-hexagone-[0-9a-f]{10}$/);
    expect(childTicketId({ to: 'curate', parentId: 'p-a', key: 'hexagone' })).not.toBe(a);
    // keys that slug the same still get distinct ids
    expect(childTicketId({ to: 'curate', parentId: 'p', key: 'Île' })).not.toBe(childTicketId({ to: 'curate', parentId: 'p', key: 'Ile' }));
    for (const key of ['Hexagone', '../../etc/passwd', 'Île-de-France', '日本', 'a'.repeat(500), ' ']) {
      expect(() => validateId(childTicketId({ to: 'curate', parentId: 'p-1', key }), 'ticket id')).not.toThrow();
    }
  });

  it('very long parent ids give a hashed child id that is still valid', () => {
    const parent = `parse-${'x'.repeat(150)}`;
    const id = childTicketId({ to: 'translate', parentId: parent, index: 3 });
    expect(id.length).toBeLessThanOrEqual(MAX_TICKET_ID);
    expect(() => validateId(id, 'ticket id')).not.toThrow();
    expect(id).toBe(childTicketId({ to: 'translate', parentId: parent, index: 3 }));
  });

  it('slugOf keeps a readable ASCII hint', () => {
    expect(slugOf('Île de France')).toBe('ile_de_france');
    expect(slugOf('日本')).toBe('x');
  });
});
