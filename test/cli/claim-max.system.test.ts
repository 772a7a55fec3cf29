/**
 * `tq claim --max N` as real processes: two claimers taking 50 each from 100 tickets at once get
 * 100 distinct tickets between them; once nothing is left, --max exits 3 (NOTHING_CLAIMABLE).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addTickets, itemsOf } from '../../src/core/ops/add-tickets.js';
import { ensureDistBuilt } from '../helpers/build-dist.js';
import { makeRun } from '../helpers/make-run.js';
import { runBin } from '../helpers/run-bin.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';
import { expectFsckOk, ls } from '../helpers/ticket-files.js';
import { join } from 'node:path';

let root: string;
beforeAll(async () => {
  await ensureDistBuilt();
  root = await makeTempDir('tq-claim-max-');
});
afterAll(async () => {
  await removeDir(root);
});

interface Claimed {
  claimed: { ticket: { ticket_id: string; claim: { worker_id: string } }; path: string }[];
}

describe('tq claim --max', () => {
  it('two processes claiming --max 50 from 100 tickets get 100 distinct tickets', async () => {
    const { ctx } = await makeRun(root, 'm', { stages: { work: { lease: '10m' } } });
    expect((await addTickets(ctx, 'work', itemsOf(Array.from({ length: 100 }, (_, i) => ({ n: i }))))).created).toBe(100);
    const claim = (worker: string) => runBin(root, ['claim', 'm', '--type', 'work', '--worker', worker, '--max', '50', '--json'], { killAfterMs: 60_000 });
    const [a, b] = await Promise.all([claim('wa'), claim('wb')]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const got = [a, b].flatMap((r) => (JSON.parse(r.stdout) as Claimed).claimed);
    expect(got).toHaveLength(100);
    expect(new Set(got.map((c) => c.ticket.ticket_id)).size).toBe(100);
    expect((JSON.parse(a.stdout) as Claimed).claimed.every((c) => c.ticket.claim.worker_id === 'wa')).toBe(true);
    expect(await ls(join(ctx.paths.dir, 'claimed', 'wa'))).toHaveLength(50);
    expect(await ls(join(ctx.paths.dir, 'claimed', 'wb'))).toHaveLength(50);

    const none = await runBin(root, ['claim', 'm', '--type', 'work', '--worker', 'wc', '--max', '5', '--json']);
    expect(none.code).toBe(3);
    expect(none.stdout).toBe('');
    expect((JSON.parse(none.stderr) as { error: { code: string } }).error.code).toBe('NOTHING_CLAIMABLE');
    await expectFsckOk(ctx);
  });

  it('text output gives one block per ticket; a bad --max is a usage error (exit 2)', async () => {
    const { ctx } = await makeRun(root, 't', { stages: { work: { lease: '10m' } } });
    await addTickets(ctx, 'work', itemsOf([{ n: 1 }, { n: 2 }, { n: 3 }]));
    const r = await runBin(root, ['claim', 't', '--type', 'work', '--worker', 'w1', '--max', '2']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^claimed work-\S+ until \S+ \(token \S+#1\)$/);
    expect(lines[1]).toContain(join('t', 'claimed', 'w1'));
    const bad = await runBin(root, ['claim', 't', '--type', 'work', '--worker', 'w1', '--max', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--max 0 is not a whole number from 1 to 1000');
    expect(await ls(join(ctx.paths.dir, 'pending', 'work'))).toHaveLength(1);
  });
});
