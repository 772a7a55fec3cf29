import { describe, expect, it } from 'vitest';
import { nonce } from '../../../src/core/model/ids.js';
import { ERROR_SUFFIX, isSafeBaseName, parseTakenFileName, takenAtOfFileName, takenFileName } from '../../../src/core/store/run-names.js';

describe('names the daemon uses', () => {
  it('a taken file names the file it was taken from', () => {
    const name = takenFileName('t1.result.json', nonce());
    expect(name.startsWith('.')).toBe(true);
    expect(parseTakenFileName(name)).toBe('t1.result.json');
    expect(parseTakenFileName('t1.result.json')).toBeUndefined();
    expect(parseTakenFileName('.t1.result.json.abc.taken')).toBeUndefined();
  });

  it('a request taken with its time says when (recover-request.ts); one taken without does not', () => {
    const stamped = takenFileName('w1~r1.json', nonce(), 1_700_000_000_123);
    expect(parseTakenFileName(stamped)).toBe('w1~r1.json');
    expect(takenAtOfFileName(stamped)).toBe(1_700_000_000_123);
    expect(takenAtOfFileName(takenFileName('w1~r1.json', nonce()))).toBeUndefined();
    expect(takenAtOfFileName('w1~r1.json')).toBeUndefined();
  });

  it('isSafeBaseName refuses hidden, control-character, undecodable and too long bases', () => {
    expect(isSafeBaseName('t1', ERROR_SUFFIX)).toBe(true);
    for (const bad of ['', '.t1', 'a\nb', 'a\\b', 'a\uFFFDb', 'x'.repeat(200)]) expect(isSafeBaseName(bad, ERROR_SUFFIX)).toBe(false);
  });
});
