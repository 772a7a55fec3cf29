import { readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimTickets } from '../../../src/core/ops/claim-tickets.js';
import { submitTickets } from '../../../src/core/ops/submit-tickets.js';
import { releaseTicket } from '../../../src/core/ops/worker-moves.js';
import type { RunCtx } from '../../../src/core/store/run-context.js';
import { addItems, makeRun, parseItems } from '../../helpers/make-run.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';
import { expectFsckOk, ls, pendingDir, stateFile } from '../../helpers/ticket-files.js';

let root: string;
let ctx: RunCtx;
beforeEach(async () => {
  root = await makeTempDir('tq-submit-many-');
  ctx = (await makeRun(root)).ctx;
});
afterEach(async () => {
  await removeDir(root);
});

/** Three parse tickets claimed by w1: [id, token]. */
async function claimThree(): Promise<{ id: string; token: string }[]> {
  await addItems(ctx, 'parse', parseItems(3));
  const got = await claimTickets(ctx, { stage: 'parse', workerId: 'w1', max: 3 });
  expect(got).toHaveLength(3);
  return got.map((r) => ({ id: r.ticket.ticket_id, token: r.ticket.claim?.token ?? '' }));
}

const output = (id: string): Record<string, unknown> => ({ walk_id: id, beats: [] });

describe('submitTickets', () => {
  it('a lost lease refuses that submission only: its output is kept in rejected/, the others complete and cascade', async () => {
    const [a, b, c] = (await claimThree()) as [{ id: string; token: string }, { id: string; token: string }, { id: string; token: string }];
    // b's claim is lost: released (by the daemon serving a request, an operator...) behind w1's back.
    await releaseTicket(ctx, { ticketId: b.id, workerId: 'w1' });
    const outcomes = await submitTickets(
      ctx,
      [a, b, c].map((t) => ({ ticketId: t.id, workerId: 'w1', token: t.token, output: output(t.id) })),
    );
    expect(outcomes.map((o) => [o.ticketId, o.ok])).toEqual([
      [a.id, true],
      [b.id, false],
      [c.id, true],
    ]);
    const refused = outcomes[1];
    if (!refused || refused.ok) throw new Error('b went through');
    expect(refused.error.code).toBe('LEASE_LOST');
    const kept = String(refused.error.data?.rejected_path);
    expect(kept.startsWith(ctx.paths.rejected)).toBe(true);
    expect((JSON.parse(await readFile(kept, 'utf8')) as { output_data: unknown }).output_data).toEqual(output(b.id));
    for (const t of [a, c]) {
      const ticket = JSON.parse(await readFile(stateFile(ctx, 'completed', 'parse', t.id), 'utf8')) as { output_data: unknown };
      expect(ticket.output_data).toEqual(output(t.id));
    }
    // b is back in pending/, untouched by the refused submit.
    expect(await ls(pendingDir(ctx, 'parse'))).toContain(`${b.id}.json`);
    // Each completed parse ticket cascaded to a translate child.
    expect(await ls(pendingDir(ctx, 'translate'))).toHaveLength(2);
    await expectFsckOk(ctx);
  });

  it('an invalid submission is refused alone; the same ticket twice in a batch is applied once, then a safe repeat', async () => {
    const [a, b] = (await claimThree()) as [{ id: string; token: string }, { id: string; token: string }];
    const outcomes = await submitTickets(ctx, [
      { ticketId: a.id, workerId: 'w1', output: [1, 2] },
      { ticketId: b.id, workerId: 'w1', output: output(b.id) },
      { ticketId: b.id, workerId: 'w1', output: output(b.id) },
    ]);
    expect(outcomes[0]?.ok).toBe(false);
    if (outcomes[0] && !outcomes[0].ok) expect(outcomes[0].error.code).toBe('INVALID_INPUT');
    expect(outcomes[1]?.ok && !outcomes[1].result.repeated).toBe(true);
    expect(outcomes[2]?.ok && outcomes[2].result.repeated).toBe(true);
    await expectFsckOk(ctx);
  });
});
