import { reapExpired, leaseTrustLimitMs } from '../ops/reap-claims.js';
import type { FsckSession, TicketsById } from './fsck-session.js';

/** Claims: unstamped claims and implausible leases (with --repair, the reaper mends both). */
export async function checkClaims(s: FsckSession, byId: TicketsById): Promise<void> {
  const { ctx, repair } = s;
  const now = ctx.clock.now().getTime();
  for (const [id, [f]] of byId) {
    if (!f || f.state !== 'claimed') continue;
    const worker = f.path.split('/').slice(-2)[0] ?? '';
    if (!f.ticket.claim || f.ticket.claim.worker_id !== worker) {
      s.problems.push({ kind: 'unstamped_claim', file: f.path, ticket_id: id, message: `${f.path} has no claim record for ${worker} (a claimer died mid-claim)`, ...(repair ? { repaired: 'adopted by the reaper below' } : {}) });
    } else if (Date.parse(f.ticket.claim.lease_expires_at) - now > leaseTrustLimitMs(ctx, f.ticket.worker_type)) {
      s.problems.push({ kind: 'lease_skew', file: f.path, ticket_id: id, message: `lease_expires_at ${f.ticket.claim.lease_expires_at} is implausibly far ahead (clock skew or hand edit)`, ...(repair ? { repaired: 'clamped by the reaper below' } : {}) });
    }
  }
  if (repair) await reapExpired(ctx);
}
