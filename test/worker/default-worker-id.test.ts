import { describe, expect, it } from 'vitest';
import { validateId } from '../../src/core/model/ids.js';
import { defaultWorkerId } from '../../src/worker/default-worker-id.js';

describe('defaultWorkerId', () => {
  it('the default worker id is <hostname>-<pid>, made a valid id', () => {
    expect(defaultWorkerId('build-box.local', 42)).toBe('build-box.local-42');
    expect(defaultWorkerId('.my host/ü', 7)).toBe('my-host---7');
    expect(defaultWorkerId('x'.repeat(100), 123456)).toBe(`${'x'.repeat(57)}-123456`);
    expect(defaultWorkerId('', 1)).toBe('worker-1');
    for (const host of ['build-box.local', '.my host/ü', 'x'.repeat(100), '', '..', 'a..b']) expect(() => validateId(defaultWorkerId(host, 99), 'worker id')).not.toThrow();
  });
});
