import { reapExpired } from '../ops/reap-claims.js';
import { leaseVerdict } from '../protocol/lease.js';
import type { FsckSession, TicketsById } from './fsck-session.js';

/** Claims: unstamped claims and implausible leases (with --repair, the reaper mends both). */
export async function checkClaims(s: FsckSession, byId: TicketsById): Promise<void> {
  const { ctx, repair } = s;
  const now = ctx.clock.now().getTime();
  for (const [id, [f]] of byId) {
    if (!f || f.state !== 'claimed') continue;
    const worker = f.path.split('/').slice(-2)[0] ?? '';
    // Why the reaper's own verdict: fsck reports exactly what the reaper below would act on.
    const verdict = leaseVerdict(f.ticket, { worker, now, pipeline: ctx.config.pipeline });
    if (verdict.kind === 'unstamped') {
      s.problems.push({ kind: 'unstamped_claim', file: f.path, ticket_id: id, message: `${f.path} has no claim record for ${worker} (a claimer died mid-claim)`, ...(repair ? { repaired: 'adopted by the reaper below' } : {}) });
    } else if (verdict.kind === 'too_far') {
      s.problems.push({ kind: 'lease_skew', file: f.path, ticket_id: id, message: `lease_expires_at ${verdict.claim.lease_expires_at} is implausibly far ahead (clock skew or hand edit)`, ...(repair ? { repaired: 'clamped by the reaper below' } : {}) });
    }
  }
  if (repair) await reapExpired(ctx);
}
