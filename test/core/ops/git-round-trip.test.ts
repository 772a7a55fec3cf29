import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openRun, type RunCtx } from '../../../src/core/store/run-context.js';
import { fixedClock } from '../../../src/core/model/clock.js';
import { claimTicket } from '../../../src/core/ops/claim-ticket.js';
import { submitTicket } from '../../../src/core/ops/submit-ticket.js';
import { reapExpired } from '../../../src/core/ops/reap-claims.js';
import { listTickets, runStatus } from '../../../src/core/views/list-tickets.js';
import { readTicketAt } from '../../../src/core/store/read-ticket.js';
import { readCascadeMarker } from '../../../src/core/ops/cascade-ticket.js';
import type { JsonObject, Ticket } from '../../../src/core/model/ticket-schema.js';
import { addItems, makeRun, parseItems, T0 } from '../../helpers/make-run.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';
import { expectFsckOk, ls } from '../../helpers/ticket-files.js';

const MIN = 60_000;
let dir: string;
beforeEach(async () => {
  dir = await makeTempDir('tq-git-');
});
afterEach(async () => {
  await removeDir(dir);
});

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=tq test', '-c', 'user.email=tq@example.invalid', '-c', 'init.defaultBranch=main', ...args], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function commitAndClone(repo: string, clone: string): void {
  git(repo, 'init', '-q');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'run mid-flight');
  git(dir, 'clone', '-q', repo, clone);
}

/** What a worker would produce for each stage of examples/pipeline.json. */
function outputFor(t: Ticket): JsonObject {
  if (t.worker_type === 'parse') return { text: String(t.input_data.text ?? '') };
  if (t.worker_type === 'translate') return { new_nouns: [{ noun: 'Hexagone' }, { noun: `Noun ${String(t.input_data.text)}` }] };
  return { verdict: 'ok' };
}

async function complete(ctx: RunCtx, stage: string, worker: string): Promise<Ticket> {
  const c = await claimTicket(ctx, { stage, workerId: worker });
  if (!c) throw new Error(`nothing to claim in ${stage}`);
  return (await submitTicket(ctx, { ticketId: c.ticket.ticket_id, workerId: worker, output: outputFor(c.ticket), token: c.ticket.claim?.token as string })).ticket;
}

/** Claim and submit until nothing is pending; returns how many were done. */
async function drain(ctx: RunCtx, worker: string): Promise<number> {
  let done = 0;
  for (let progress = true; progress; ) {
    progress = false;
    for (const stage of ['parse', 'translate', 'curate']) {
      for (let c = await claimTicket(ctx, { stage, workerId: worker }); c; c = await claimTicket(ctx, { stage, workerId: worker })) {
        await submitTicket(ctx, { ticketId: c.ticket.ticket_id, workerId: worker, output: outputFor(c.ticket) });
        done += 1;
        progress = true;
      }
    }
  }
  return done;
}

describe('git round trip', () => {
  it('a run committed mid-flight and cloned: same status, live leases honoured, runs to completion', async () => {
    const repo = join(dir, 'repo');
    const { ctx } = await makeRun(join(repo, 'runs'), 'gallia');
    await addItems(ctx, 'parse', parseItems(6));
    await complete(ctx, 'parse', 'w0'); // -> 1 completed parse, 1 pending translate
    await complete(ctx, 'parse', 'w0');
    await complete(ctx, 'translate', 'w0'); // -> 2 curate tickets
    const held1 = await claimTicket(ctx, { stage: 'parse', workerId: 'w1' });
    const held2 = await claimTicket(ctx, { stage: 'translate', workerId: 'w2' });
    if (!held1?.ticket.claim || !held2?.ticket.claim) throw new Error('setup: claims failed');
    const before = await runStatus(ctx);
    expect(before.totals).toMatchObject({ pending: 5, claimed: 2, completed: 3 });

    const clone = join(dir, 'clone');
    commitAndClone(repo, clone);
    const clock = fixedClock(new Date(Date.parse(T0) + 5 * MIN));
    const cctx = await openRun(join(clone, 'runs'), 'gallia', { durability: 'none', clock });

    // status is identical (run ids match; paths are not part of it)
    expect(await runStatus(cctx)).toEqual(before);
    expect((await listTickets(cctx)).map((t) => `${t.state}/${t.ticket_id}/${t.worker_id ?? ''}`)).toEqual((await listTickets(ctx)).map((t) => `${t.state}/${t.ticket_id}/${t.worker_id ?? ''}`));
    await expectFsckOk(cctx);

    // live leases are honoured: nothing is reaped before expiry (parse 10m, translate 30m)
    expect(await reapExpired(cctx)).toEqual([]);
    clock.advance(4 * MIN); // T0 + 9m
    expect(await reapExpired(cctx)).toEqual([]);

    // the holders finish their tickets in the clone with their tokens
    await submitTicket(cctx, { ticketId: held1.ticket.ticket_id, workerId: 'w1', token: held1.ticket.claim.token, output: outputFor(held1.ticket) });
    await submitTicket(cctx, { ticketId: held2.ticket.ticket_id, workerId: 'w2', token: held2.ticket.claim.token, output: outputFor(held2.ticket) });
    const worked = await drain(cctx, 'w3');
    expect(worked).toBeGreaterThan(0);

    const s = await runStatus(cctx);
    expect(s.totals.pending + s.totals.claimed + s.totals.failed + s.totals.needs_review).toBe(0);
    expect(s.counts.parse?.completed).toBe(6);
    expect(s.counts.translate?.completed).toBe(6);
    // curate is keyed by noun: "Hexagone" once, plus one per translate ticket
    expect(s.counts.curate?.completed).toBe(7);
    const report = await expectFsckOk(cctx);
    expect(report.tickets).toBe(19);

    // and the clone commits cleanly again (no temp files left for git to pick up)
    git(clone, 'add', '-A');
    const staged = git(clone, 'diff', '--cached', '--name-only').split('\n').filter(Boolean);
    expect(staged.filter((p) => p.includes('/.tmp/') || p.endsWith('.tmp'))).toEqual([]);
  });

  it('a long-lived process keeps working after git removed directories under it', async () => {
    // A daemon made these directories long ago; a `git pull` that took the last file out of a
    // directory removes the directory too. Claims must still find work and births still land.
    const { ctx } = await makeRun(join(dir, 'runs'), 'gallia');
    await addItems(ctx, 'parse', parseItems(2));
    await complete(ctx, 'parse', 'w1');
    await complete(ctx, 'translate', 'w1'); // curate tickets go to pending/curate/
    await complete(ctx, 'curate', 'w1');
    await complete(ctx, 'curate', 'w1');
    for (const d of ['claimed', 'moving', '.tmp', 'pending/curate', 'pending/translate', 'cascade/requested_by']) {
      await rm(join(ctx.paths.dir, d), { recursive: true, force: true });
    }
    await complete(ctx, 'parse', 'w1'); // claims into claimed/w1/, births into pending/translate/
    const t = await complete(ctx, 'translate', 'w1');
    const curate = await listTickets(ctx, { state: 'pending', stage: 'curate' });
    const marker = await readCascadeMarker(ctx, t.ticket_id);
    expect(marker?.deduplicated).toHaveLength(1); // "Hexagone" was curated already
    expect(curate.map((c) => c.ticket_id)).toEqual(marker?.created);
    expect(curate).toHaveLength(1);
    expect(await ls(ctx.paths.moving)).toEqual([]);
    await expectFsckOk(ctx);
  });

  it('a clone that lacks the empty directories (claimed/, failed/, moving/) works', async () => {
    const repo = join(dir, 'repo');
    const { ctx } = await makeRun(join(repo, 'runs'), 'gallia');
    await addItems(ctx, 'parse', parseItems(3));
    await complete(ctx, 'parse', 'w0'); // claimed/w0/ is now an empty directory
    const clone = join(dir, 'clone');
    commitAndClone(repo, clone);
    const runDir = join(clone, 'runs', 'gallia');
    for (const d of ['claimed', 'failed', 'needs_review', 'moving', '.tmp', 'rejected', 'quarantine']) expect(existsSync(join(runDir, d)), d).toBe(false);

    const clock = fixedClock(T0);
    const cctx = await openRun(join(clone, 'runs'), 'gallia', { durability: 'none', clock });
    expect((await runStatus(cctx)).totals).toMatchObject({ pending: 3, claimed: 0, completed: 1, failed: 0 });
    await expectFsckOk(cctx);
    expect(await reapExpired(cctx)).toEqual([]);

    // claim creates claimed/<worker>/ on demand; failed/ appears when a ticket fails
    const c = await claimTicket(cctx, { stage: 'parse', workerId: 'w1' });
    expect(c).not.toBeNull();
    const failed = await submitTicket(cctx, { ticketId: c?.ticket.ticket_id as string, workerId: 'w1', output: { reason: 'x' }, status: 'failed' });
    expect(failed.path).toBe(join(runDir, 'failed', 'parse', `${c?.ticket.ticket_id}.json`));
    // a lease that expires in the clone is reaped into pending/
    const d = await claimTicket(cctx, { stage: 'parse', workerId: 'w2' });
    clock.advance(11 * MIN);
    expect((await reapExpired(cctx)).map((a) => a.action)).toEqual(['requeued']);
    expect((await readTicketAt(cctx, join(runDir, 'pending', 'parse', `${d?.ticket.ticket_id}.json`))).attempts).toBe(1);
    expect(await drain(cctx, 'w3')).toBeGreaterThan(0);
    await expectFsckOk(cctx);
  });
});
