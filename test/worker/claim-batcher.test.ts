import { describe, expect, it } from 'vitest';
import type { ClaimResult } from '../../src/core/ops/claim-ticket.js';
import { ClaimBatcher } from '../../src/worker/claim-batcher.js';

/** A fake claim: only its ticket id matters here. */
const claim = (id: string): ClaimResult => ({ ticket: { ticket_id: id } as ClaimResult['ticket'], path: `claimed/w/${id}.json` });

/** A fetch the test answers by hand; records each call's max. */
function manualFetch(): { fetch: (max: number) => Promise<ClaimResult[] | undefined>; maxes: number[]; answer: (r: ClaimResult[] | undefined) => void } {
  const maxes: number[] = [];
  const waiting: ((r: ClaimResult[] | undefined) => void)[] = [];
  return {
    maxes,
    fetch: (max) => {
      maxes.push(max);
      return new Promise((resolve) => waiting.push(resolve));
    },
    answer: (r) => waiting.shift()?.(r),
  };
}

describe('ClaimBatcher', () => {
  it('slots asking at once share one call for the free slots', async () => {
    const f = manualFetch();
    const b = new ClaimBatcher(f.fetch, () => 3);
    const asks = [b.next(), b.next(), b.next()];
    expect(f.maxes).toEqual([3]);
    f.answer([claim('a'), claim('b'), claim('c')]);
    const got = await Promise.all(asks);
    expect(got.map((c) => c?.ticket.ticket_id).sort()).toEqual(['a', 'b', 'c']);
    expect(f.maxes).toEqual([3]);
    expect(b.idle).toBe(false);
    for (let i = 0; i < 3; i += 1) b.started();
    expect(b.idle).toBe(true);
  });

  it('a slot freed while a call for another is in flight starts its own call at once, never waiting for the other', async () => {
    const f = manualFetch();
    let free = 1;
    const b = new ClaimBatcher(f.fetch, () => free);
    const first = b.next();
    free = 2;
    const second = b.next();
    expect(f.maxes).toEqual([1, 1]);
    f.answer([claim('a')]);
    f.answer([claim('b')]);
    expect([(await first)?.ticket.ticket_id, (await second)?.ticket.ticket_id].sort()).toEqual(['a', 'b']);
  });

  it('counts tickets handed out but not started as taken slots', async () => {
    const f = manualFetch();
    const b = new ClaimBatcher(f.fetch, () => 4);
    const first = b.next();
    f.answer([claim('a')]);
    expect((await first)?.ticket.ticket_id).toBe('a');
    const second = b.next();
    expect(f.maxes).toEqual([4, 3]);
    f.answer([]);
    expect(await second).toBeNull();
  });

  it('nothing claimable is null for every slot; a failed call is undefined; leftovers can be taken back', async () => {
    const f = manualFetch();
    const b = new ClaimBatcher(f.fetch, () => 2);
    const both = [b.next(), b.next()];
    f.answer([]);
    expect(await Promise.all(both)).toEqual([null, null]);
    const failed = b.next();
    f.answer(undefined);
    expect(await failed).toBeUndefined();
    const one = b.next();
    f.answer([claim('x'), claim('y')]);
    expect((await one)?.ticket.ticket_id).toBe('x');
    expect(b.takeLeftovers().map((c) => c.ticket.ticket_id)).toEqual(['y']);
    expect(b.takeLeftovers()).toEqual([]);
  });
});
