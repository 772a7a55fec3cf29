import { describe, expect, it } from 'vitest';
import { fillRandom, randomBytesOf, sha256Hex } from '../../../src/core/model/lazy-crypto.js';

describe('lazy-crypto', () => {
  it('sha256Hex is SHA-256 (the FIPS 180-2 test vector)', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('fillRandom fills the whole buffer, differently each time', () => {
    const a = Buffer.alloc(4096);
    const b = Buffer.alloc(4096);
    fillRandom(a);
    fillRandom(b);
    expect(a.equals(b)).toBe(false);
    // Why: a fill that stopped short would leave the zeroed tail; 64 zero bytes in a row by chance is ~2^-512.
    expect(a.subarray(-64).equals(Buffer.alloc(64))).toBe(false);
    expect(new Set(a).size).toBeGreaterThan(200);
    expect(randomBytesOf(6)).toHaveLength(6);
  });
});
