import { basename, dirname } from 'node:path';
import { reapOne } from '../ops/reap-claims.js';
import { leaseVerdict } from '../protocol/lease.js';
import { guardEntry } from './guard-entry.js';
import type { FsckSession, TicketsById } from './fsck-session.js';

/**
 * Claims: unstamped claims and implausible leases (with --repair, the reaper mends both, and
 * returns expired claims). Why the reaper one claim at a time, on the census's claims only:
 * those were checked to be regular files in real directories, where reapExpired would list
 * every claimed/<worker>/ again, links and FIFOs included.
 */
export async function checkClaims(s: FsckSession, byId: TicketsById): Promise<void> {
  const { ctx } = s;
  const now = ctx.clock.now().getTime();
  for (const [id, [f]] of byId) {
    if (!f || f.state !== 'claimed') continue;
    // The worker is the directory the claim is in, never what the file says.
    const worker = basename(dirname(f.path));
    await guardEntry(s, f.path, id, async () => {
      // Why the reaper's own verdict: fsck reports exactly what the reaper below acts on.
      const verdict = leaseVerdict(f.ticket, { worker, now, pipeline: ctx.config.pipeline });
      if (verdict.kind === 'unstamped') {
        s.problems.push({ kind: 'unstamped_claim', file: f.path, ticket_id: id, message: `${f.path} has no claim record for ${worker} (a claimer died mid-claim)`, ...(s.repair ? { repaired: 'adopted by the reaper' } : {}) });
      } else if (verdict.kind === 'too_far') {
        s.problems.push({ kind: 'lease_skew', file: f.path, ticket_id: id, message: `${f.path}: lease_expires_at ${verdict.claim.lease_expires_at} is implausibly far ahead (clock skew or hand edit)`, ...(s.repair ? { repaired: 'clamped by the reaper' } : {}) });
      }
      if (s.repair) await reapOne(ctx, f.path, worker, id, {});
    });
  }
}
