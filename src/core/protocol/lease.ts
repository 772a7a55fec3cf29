import { maxLeaseMs, type Pipeline } from '../model/pipeline.js';
import type { Claim, Ticket } from '../model/ticket-schema.js';

/**
 * What a claimed ticket's lease says, for the worker whose directory holds it. The one
 * judgement of a lease: the reaper (`tq reap`, reapOne) acts on it, and the daemon's light
 * reaper uses it to know when to look at a claim again.
 */
export type LeaseVerdict =
  /** The claim holds until `expiresAt` (ms): nothing to do before. */
  | { kind: 'live'; claim: Claim; expiresAt: number }
  /** The lease has ended, or `lease_expires_at` does not parse (`expiresAt` NaN): reap it. */
  | { kind: 'expired'; claim: Claim; expiresAt: number }
  /**
   * The lease ends further ahead than any lease of its stage may (clock skew or a hand edit):
   * not trusted; clamp it to one lease from now.
   */
  | { kind: 'too_far'; claim: Claim; expiresAt: number; trustLimitMs: number }
  /**
   * No claim of this worker on record: a claimer died between its rename and its stamp (or the
   * file was moved by hand). Adopt it (give it a lease from now).
   */
  | { kind: 'unstamped' };

export interface LeaseJudgement {
  /** The worker whose claimed/<worker>/ directory holds the ticket. */
  worker: string;
  /** Now, in ms. */
  now: number;
  /** The run's pipeline: how long a lease of the ticket's stage may be. */
  pipeline: Pipeline;
}

/** Judge the lease of a ticket found in claimed/<worker>/ (see LeaseVerdict). */
export function leaseVerdict(ticket: Pick<Ticket, 'claim' | 'worker_type'>, at: LeaseJudgement): LeaseVerdict {
  const claim = ticket.claim;
  if (!claim || claim.worker_id !== at.worker) return { kind: 'unstamped' };
  const expiresAt = Date.parse(claim.lease_expires_at);
  const trustLimitMs = maxLeaseMs(at.pipeline, ticket.worker_type);
  if (expiresAt - at.now > trustLimitMs) return { kind: 'too_far', claim, expiresAt, trustLimitMs };
  if (Number.isNaN(expiresAt) || expiresAt <= at.now) return { kind: 'expired', claim, expiresAt };
  return { kind: 'live', claim, expiresAt };
}
