import { describe, expect, it } from 'vitest';
import { checkJsonText, checkJsonValue, jsonDepth, MAX_JSON_BYTES, MAX_JSON_DEPTH } from '../../../src/core/model/json-limits.js';
import { isTqError } from '../../../src/core/model/errors.js';

function code(fn: () => void): string | undefined {
  try {
    fn();
  } catch (err) {
    return isTqError(err) ? err.code : 'RAW';
  }
  return undefined;
}

describe('json limits', () => {
  it('measures depth without recursion, even for very deep values', () => {
    expect(jsonDepth({ a: [1, { b: 2 }] })).toBe(3);
    let deep: unknown = 0;
    for (let i = 0; i < 100_000; i += 1) deep = [deep];
    expect(jsonDepth(deep)).toBeGreaterThan(MAX_JSON_DEPTH);
    expect(code(() => checkJsonValue(deep, 'out.json'))).toBe('INVALID_INPUT');
  });

  it('refuses text nested deeper than the limit before JSON.parse sees it', () => {
    const deep = `${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}`;
    expect(code(() => checkJsonText(deep, 'out.json'))).toBe('INVALID_INPUT');
    const ok = `${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`;
    expect(code(() => checkJsonText(ok, 'out.json'))).toBeUndefined();
  });

  it('ignores brackets inside strings', () => {
    expect(code(() => checkJsonText(JSON.stringify({ s: '['.repeat(500) }), 'x'))).toBeUndefined();
  });

  it('refuses text over the size limit, naming the file and size', () => {
    const big = `"${'x'.repeat(MAX_JSON_BYTES)}"`;
    try {
      checkJsonText(big, 'huge.json');
      throw new Error('accepted');
    } catch (err) {
      expect(isTqError(err, 'INVALID_INPUT')).toBe(true);
      expect((err as Error).message).toMatch(/huge\.json: 16\.0 MB is over the 16 MB limit/);
    }
  });
});
