import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openRun, type RunCtx } from '../../../src/core/store/run-context.js';
import { claimTicket } from '../../../src/core/ops/claim-ticket.js';
import { submitTicket } from '../../../src/core/ops/submit-ticket.js';
import { heartbeatTicket, releaseTicket } from '../../../src/core/ops/worker-moves.js';
import { approveTicket, requeueTicket } from '../../../src/core/ops/review-moves.js';
import { reapExpired } from '../../../src/core/ops/reap-claims.js';
import { fsckRun } from '../../../src/core/fsck/fsck-run.js';
import { addTickets, itemsOf } from '../../../src/core/ops/add-tickets.js';
import { listTickets } from '../../../src/core/views/list-tickets.js';
import { isTqError } from '../../../src/core/model/errors.js';
import { addItems, makeRun, parseItems, T0 } from '../../helpers/make-run.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';
import { faultyFs } from '../../helpers/faulty-fs.js';
import { fixedClock } from '../../../src/core/model/clock.js';

const ERRNOS = ['ENOSPC', 'EIO', 'EACCES', 'EMFILE'] as const;

interface Scenario {
  name: string;
  /** Build the state the operation starts from (real fs); returns what the op needs. */
  setup(ctx: RunCtx): Promise<Record<string, string>>;
  op(ctx: RunCtx, s: Record<string, string>): Promise<unknown>;
}

const translateOutput = { walk_id: 'w', translated_texts: [], new_nouns: [{ noun: 'Hexagone' }, { noun: 'Barrage' }] };

async function claimed(ctx: RunCtx, stage: string, worker = 'w1'): Promise<Record<string, string>> {
  const c = await claimTicket(ctx, { stage, workerId: worker });
  if (!c?.ticket.claim) throw new Error('setup: nothing claimed');
  return { id: c.ticket.ticket_id, token: c.ticket.claim.token };
}

const SCENARIOS: Scenario[] = [
  {
    name: 'add',
    setup: async () => ({}),
    op: (ctx) => addTickets(ctx, 'parse', itemsOf(parseItems(4))),
  },
  {
    name: 'claim',
    setup: async (ctx) => (await addItems(ctx, 'parse', parseItems(2)), {}),
    op: (ctx) => claimTicket(ctx, { stage: 'parse', workerId: 'w1' }),
  },
  {
    name: 'submit with keyed fan-out',
    setup: async (ctx) => (await addItems(ctx, 'translate', [{ walk_id: 'w' }]), claimed(ctx, 'translate')),
    op: (ctx, s) => submitTicket(ctx, { ticketId: s.id ?? '', workerId: 'w1', output: translateOutput, token: s.token ?? '' }),
  },
  {
    name: 'release',
    setup: async (ctx) => (await addItems(ctx, 'parse', parseItems(1)), claimed(ctx, 'parse')),
    op: (ctx, s) => releaseTicket(ctx, { ticketId: s.id ?? '', workerId: 'w1' }),
  },
  {
    name: 'heartbeat',
    setup: async (ctx) => (await addItems(ctx, 'parse', parseItems(1)), claimed(ctx, 'parse')),
    op: (ctx, s) => heartbeatTicket(ctx, { ticketId: s.id ?? '', workerId: 'w1' }),
  },
  {
    name: 'reap',
    setup: async (ctx) => (await addItems(ctx, 'parse', parseItems(2)), claimed(ctx, 'parse')),
    // The op's clock is a day later: the claim has expired.
    op: async (ctx) => reapExpired({ ...ctx, clock: fixedClock(new Date(Date.parse(T0) + 86_400_000)) }),
  },
  {
    name: 'approve with cascade',
    setup: async (ctx) => {
      await addItems(ctx, 'translate', [{ walk_id: 'w' }]);
      const s = await claimed(ctx, 'translate');
      await submitTicket(ctx, { ticketId: s.id ?? '', workerId: 'w1', output: translateOutput, status: 'needs_review' });
      return s;
    },
    op: (ctx, s) => approveTicket(ctx, s.id ?? ''),
  },
  {
    name: 'requeue',
    setup: async (ctx) => {
      await addItems(ctx, 'parse', parseItems(1));
      const s = await claimed(ctx, 'parse');
      await submitTicket(ctx, { ticketId: s.id ?? '', workerId: 'w1', output: {}, status: 'failed' });
      return s;
    },
    op: (ctx, s) => requeueTicket(ctx, s.id ?? ''),
  },
];

let root: string;
beforeEach(async () => {
  root = await makeTempDir();
});
afterEach(async () => {
  await removeDir(root);
});

/** Tickets per id across all states: every registered id exactly once. */
async function ticketCensus(ctx: RunCtx): Promise<Map<string, number>> {
  const census = new Map<string, number>();
  for (const t of await listTickets(ctx)) census.set(t.ticket_id, (census.get(t.ticket_id) ?? 0) + 1);
  return census;
}

describe('injected I/O faults at every mutating step of every operation', () => {
  for (const scenario of SCENARIOS) {
    it(`${scenario.name}: each fault is a clear IO_ERROR and leaves a state fsck accepts`, async () => {
      let cases = 0;
      for (const errno of ERRNOS) {
        for (let failAt = 1; failAt < 400; failAt += 1) {
          const runId = `r-${errno.toLowerCase()}-${failAt}`;
          const { ctx } = await makeRun(root, runId);
          const s = await scenario.setup(ctx);
          const faulty = faultyFs(failAt, errno);
          const faultCtx = await openRun(root, runId, { fs: faulty.fs, durability: 'full', clock: fixedClock(T0) });
          let error: unknown;
          try {
            await scenario.op(faultCtx, s);
          } catch (err) {
            error = err;
          }
          if (!faulty.fired()) {
            expect(error).toBeUndefined();
            break;
          }
          cases += 1;
          if (error !== undefined) {
            // A fault surfaces as a TqError naming the file and the errno, never a raw error.
            expect(isTqError(error), `${scenario.name} ${errno} at ${failAt}: ${String(error)}`).toBe(true);
            if (isTqError(error)) {
              expect(error.code).toBe('IO_ERROR');
              expect(error.message).toContain(errno);
              expect(error.file).toBeTruthy();
            }
          }
          // Whatever the fault left, repair mends it and then every invariant holds.
          const real = await openRun(root, runId, { durability: 'none', clock: fixedClock(T0) });
          await fsckRun(real, { repair: true, settleMs: 0 });
          const after = await fsckRun(real, { settleMs: 0 });
          expect(after.problems, `${scenario.name} ${errno} at ${failAt}`).toEqual([]);
          for (const [id, n] of await ticketCensus(real)) expect(n, `${id} copies`).toBe(1);
        }
      }
      console.log(`FAULTS ${JSON.stringify({ operation: scenario.name, injected: cases })}`);
      expect(cases).toBeGreaterThan(ERRNOS.length);
    });
  }
});
