import { describe, expect, it } from 'vitest';
import { closestName, didYouMean } from '../../../src/core/model/closest-name.js';

describe('closestName', () => {
  it('finds swapped, dropped and changed letters', () => {
    expect(closestName('stauts', ['status', 'stats', 'show'])).toBe('status');
    expect(closestName('max_attempt', ['lease', 'max_attempts', 'description'])).toBe('max_attempts');
    expect(closestName('tranlsate', ['parse', 'translate', 'curate'])).toBe('translate');
    expect(closestName('Lease', ['lease'])).toBe('lease');
  });
  it('offers nothing when no name is close', () => {
    expect(closestName('work', ['create', 'status', 'claim'])).toBeUndefined();
    expect(closestName('retry', ['lease', 'max_attempts'])).toBeUndefined();
    expect(closestName('x', [])).toBeUndefined();
  });
  it('formats a suffix for messages', () => {
    expect(didYouMean('stauts', ['status'])).toBe('; did you mean "status"?');
    expect(didYouMean('zzz', ['status'])).toBe('');
  });
});
