import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTLE, resolveSettle } from '../../src/daemon/daemon-defaults.js';

describe('resolveSettle', () => {
  it('nothing set: the defaults', () => {
    expect(resolveSettle()).toEqual(DEFAULT_SETTLE);
    expect(resolveSettle({ fileMs: 10 })).toEqual({ ...DEFAULT_SETTLE, fileMs: 10 });
  });

  it('taken and temp files wait 10× and 60× a movingMs that was set (at least 1 s and 5 s)', () => {
    expect(resolveSettle({ movingMs: 5000, fileMs: 3000 })).toEqual({ movingMs: 5000, fileMs: 3000, takenMs: 50_000, tmpMs: 300_000 });
    expect(resolveSettle({ movingMs: 0 })).toEqual({ ...DEFAULT_SETTLE, movingMs: 0, takenMs: 1000, tmpMs: 5000 });
  });

  it('what is set wins', () => {
    const all = { fileMs: 1, movingMs: 2, takenMs: 3, tmpMs: 4 };
    expect(resolveSettle(all)).toEqual(all);
  });
});
