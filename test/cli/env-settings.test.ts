import { describe, expect, it } from 'vitest';
import { defaultRoot, durabilityFromEnv, rootFromEnv } from '../../src/cli/env-settings.js';

describe('settings from the environment', () => {
  it('TQ_ROOT when set and not blank, else runs', () => {
    expect(defaultRoot()).toBe('runs');
    expect(defaultRoot({ TQ_ROOT: '/data/runs' })).toBe('/data/runs');
    expect(defaultRoot({ TQ_ROOT: '  ' })).toBe('runs');
    expect(rootFromEnv({ TQ_ROOT: '' })).toBeUndefined();
  });

  it('TQ_DURABILITY full or none (trimmed); anything else is no override', () => {
    expect(durabilityFromEnv({ TQ_DURABILITY: ' none ' })).toBe('none');
    expect(durabilityFromEnv({ TQ_DURABILITY: 'full' })).toBe('full');
    expect(durabilityFromEnv({ TQ_DURABILITY: 'fast' })).toBeUndefined();
    expect(durabilityFromEnv({})).toBeUndefined();
  });
});
