import { describe, expect, it } from 'vitest';
import { parsePipeline } from '../../../src/core/model/pipeline.js';
import { leaseVerdict } from '../../../src/core/protocol/lease.js';
import { examplePipeline } from '../../helpers/make-run.js';

const pipeline = parsePipeline(examplePipeline(), 'examples/pipeline.json');
const NOW = Date.parse('2030-01-01T00:00:00.000Z');
const DAY = 24 * 3_600_000;

/** A parse ticket (10 m leases: trusted up to 24 h ahead) claimed by w1 until `until`. */
function claimedUntil(until: string, worker = 'w1') {
  return { worker_type: 'parse', claim: { worker_id: worker, claimed_at: '2030-01-01T00:00:00.000Z', lease_expires_at: until, token: 't' } };
}
const at = (ms: number): string => new Date(NOW + ms).toISOString();
const judge = (t: ReturnType<typeof claimedUntil> | { worker_type: string; claim: null }) => leaseVerdict(t, { worker: 'w1', now: NOW, pipeline });

describe('leaseVerdict', () => {
  it('live until its end, with the end in ms', () => {
    expect(judge(claimedUntil(at(1)))).toMatchObject({ kind: 'live', expiresAt: NOW + 1 });
    expect(judge(claimedUntil(at(DAY)))).toMatchObject({ kind: 'live', expiresAt: NOW + DAY });
  });

  it('expired at its end, after it, and when the time does not parse', () => {
    expect(judge(claimedUntil(at(0)))).toMatchObject({ kind: 'expired', expiresAt: NOW });
    expect(judge(claimedUntil(at(-60_000)))).toMatchObject({ kind: 'expired' });
    const v = judge(claimedUntil('not a time'));
    expect(v.kind).toBe('expired');
    expect(v.kind === 'expired' && Number.isNaN(v.expiresAt)).toBe(true);
  });

  it('too far ahead past the longest lease the stage may have (10 leases, at least a day)', () => {
    expect(judge(claimedUntil(at(DAY + 1)))).toMatchObject({ kind: 'too_far', trustLimitMs: DAY, expiresAt: NOW + DAY + 1 });
  });

  it('unstamped without a claim, or with a claim of another worker', () => {
    expect(judge({ worker_type: 'parse', claim: null })).toEqual({ kind: 'unstamped' });
    expect(judge(claimedUntil(at(60_000), 'w2'))).toEqual({ kind: 'unstamped' });
  });
});
