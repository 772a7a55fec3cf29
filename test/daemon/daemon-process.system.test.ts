import { readFile, readdir, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/model/clock.js';
import { claimTicket } from '../../src/core/ops/claim-ticket.js';
import { submitTicket } from '../../src/core/ops/submit-ticket.js';
import { childTicketId } from '../../src/core/model/ids.js';
import type { Ticket } from '../../src/core/model/ticket-schema.js';
import { ensureDistBuilt } from '../helpers/build-dist.js';
import { createRun } from '../../src/core/ops/create-run.js';
import type { RunCtx } from '../../src/core/store/run-context.js';
import { addItems, examplePipeline, parseItems, reopen } from '../helpers/make-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';
import { expectFsckOk, ls, readTicketFile, stateFile } from '../helpers/ticket-files.js';
import { waitFor } from '../helpers/wait-for.js';
import { allTicketIds, completeByHand, spawnDaemon, type DaemonProcess } from './daemon-test-kit.js';
import { FileOnlyAgent } from './file-only-agent.js';

const FAST = ['--interval', '200ms', '--settle', '50ms', '--file-settle', '200ms', '--json'];

let root: string;
let run: { ctx: RunCtx };
const started: DaemonProcess[] = [];
beforeAll(async () => {
  await ensureDistBuilt();
});
beforeEach(async () => {
  root = await makeTempDir();
  // Why the system clock: the daemon is a real process on real time.
  run = { ctx: await createRun(root, 'demo', { pipeline: examplePipeline(), durability: 'none' }) };
});
afterEach(async () => {
  for (const p of started.splice(0)) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await removeDir(root);
});

function daemon(args: string[]): DaemonProcess {
  const p = spawnDaemon(root, args);
  started.push(p);
  return p;
}

describe('tq daemon (real process)', () => {
  it('cascades hand-completed and submitted tickets, reaps past leases, serves a file-only agent, stops cleanly', async () => {
    const ids = await addItems(run.ctx, 'parse', parseItems(6));
    const d = daemon(['demo', ...FAST]);
    await waitFor(() => d.entries().some((e) => e.action === 'started'), 10_000, 'the daemon to start');

    // Cascade of tickets completed by hand (renamed into completed/, status edited).
    const byHand = ids.slice(0, 2);
    for (const id of byHand) await completeByHand(run.ctx, 'parse', id, { beats: [id] });
    for (const id of byHand) {
      await waitFor(async () => (await ls(join(run.ctx.paths.dir, 'pending', 'translate'))).includes(`${childTicketId({ to: 'translate', parentId: id })}.json`), 10_000, `the child of ${id}`);
    }

    // Cascade by submit (inline): the daemon sees the marker and leaves it alone.
    const ctx = await reopen(run.ctx, systemClock);
    const claimed = await claimTicket(ctx, { stage: 'parse', workerId: 'cli-1' });
    const submitted = await submitTicket(ctx, { ticketId: claimed?.ticket.ticket_id as string, workerId: 'cli-1', output: { beats: [] } });
    // Either the submit or the daemon (racing it) created the one child; never both.
    expect([...(submitted.cascade?.created ?? []), ...(submitted.cascade?.deduplicated ?? [])]).toEqual([childTicketId({ to: 'translate', parentId: submitted.ticket.ticket_id })]);

    // Reaping: a lease written in the past.
    const victim = await claimTicket(ctx, { stage: 'parse', workerId: 'gone-agent' });
    const victimId = victim?.ticket.ticket_id as string;
    const t = (await readTicketFile(victim?.path as string)) as Ticket;
    await writeFile(victim?.path as string, JSON.stringify({ ...t, claim: { ...t.claim, lease_expires_at: '2001-01-01T00:00:00.000Z' } }, null, 2));
    await waitFor(async () => (await ls(join(run.ctx.paths.dir, 'pending', 'parse'))).includes(`${victimId}.json`), 10_000, 'the reaper');
    expect((await readTicketFile(stateFile(run.ctx, 'pending', 'parse', victimId))).attempts).toBe(1);

    // A file-only agent: claim -> heartbeat -> result -> accepted; claim -> release.
    const agent = new FileOnlyAgent(run.ctx.paths.dir, 'file-agent');
    const reply = await agent.request('parse');
    expect(reply).toMatchObject({ status: 'claimed' });
    const ticket = await agent.ticket(reply);
    const before = String((ticket.claim as Record<string, unknown>).lease_expires_at);
    const after = await agent.heartbeat(String(ticket.ticket_id), '2h');
    expect(Date.parse(after)).toBeGreaterThan(Date.parse(before));
    const accepted = await agent.submit(String(ticket.ticket_id), { output_data: { beats: ['by file'] }, worker_concerns: [{ level: 'info', message: 'fine' }], usage: { input_tokens: 3 } });
    expect(accepted).toEqual({ accepted: true });
    expect((await readTicketFile(stateFile(run.ctx, 'completed', 'parse', String(ticket.ticket_id)))).output_data).toEqual({ beats: ['by file'] });
    await waitFor(async () => (await ls(run.ctx.paths.cascadeDone)).includes(`${String(ticket.ticket_id)}.json`), 10_000, 'its cascade');

    const second = await agent.request('parse');
    expect(second.status).toBe('claimed');
    await agent.release(String(second.ticket_id));
    // RACE: the agent sees its release done once the ticket has left claimed/<worker>/; the move
    // commits into pending/ a moment later (it passes through moving/), so wait for it.
    await waitFor(async () => (await ls(join(run.ctx.paths.dir, 'pending', 'parse'))).includes(`${String(second.ticket_id)}.json`), 10_000, 'the released ticket in pending/');

    // A refused result: the agent gets an error file and can fix it.
    const third = await agent.request('parse');
    const refused = await agent.submit(String(third.ticket_id), { output_data: [1, 2] });
    expect(refused.accepted).toBe(false);
    expect(String((refused.error?.error as Record<string, unknown>).message)).toContain('output_data');
    expect(await agent.submit(String(third.ticket_id), { output_data: { beats: [] } })).toEqual({ accepted: true });

    d.child.kill('SIGTERM');
    expect(await d.exit).toEqual({ code: 0, signal: null });
    expect(await ls(run.ctx.paths.dir)).not.toContain('.daemon.lock');
    const cascaded = d.entries().filter((e) => e.action === 'cascaded');
    expect(cascaded.filter((e) => byHand.includes(e.ticket_id ?? '')).map((e) => e.note)).toEqual(['1 created, 0 already existed', '1 created, 0 already existed']);
    // A submit cascades inline; the daemon may have raced it for the submitted tickets.
    for (const e of cascaded.filter((x) => !byHand.includes(x.ticket_id ?? ''))) expect(e.note).toMatch(/^[01] created/);
    expect(d.entries().map((e) => e.action)).toContain('stopped');
    const all = await allTicketIds(run.ctx);
    expect(new Set(all).size).toBe(all.length);
    await expectFsckOk(run.ctx);
  });

  it('a second daemon exits 8 naming the holder; with --force both run and nothing is duplicated', async () => {
    const ids = await addItems(run.ctx, 'translate', Array.from({ length: 40 }, (_, i) => ({ i })));
    const first = daemon(['demo', ...FAST]);
    await waitFor(() => ls(run.ctx.paths.dir).then((n) => n.includes('.daemon.lock')), 10_000, 'the lock');
    const refused = daemon(['demo', ...FAST]);
    const r = await refused.exit;
    expect(r.code).toBe(8);
    expect(refused.stderr()).toContain(`pid ${first.child.pid}`);
    expect(refused.stderr()).toContain('DAEMON_RUNNING');

    const forced = daemon(['demo', '--force', ...FAST]);
    await waitFor(() => forced.entries().some((e) => e.action === 'lock held elsewhere'), 10_000, 'the forced daemon');
    // Both daemons now race for the same work: 40 hand-completed parents, shared noun keys, and
    // file-only agents' requests and results.
    for (const [i, id] of ids.entries()) await completeByHand(run.ctx, 'translate', id, { new_nouns: [{ noun: `N${i % 5}` }, { noun: `M${i}` }] });
    const agents = [1, 2, 3].map((n) => new FileOnlyAgent(run.ctx.paths.dir, `fa-${n}`));
    await Promise.all(
      agents.map(async (a) => {
        for (let done = 0; done < 4; ) {
          const reply = await a.request('curate');
          // Why: 'empty' until the daemons have cascaded some parents; just ask again.
          if (reply.status !== 'claimed') continue;
          expect(await a.submit(String(reply.ticket_id), { output_data: { verdict: 'ok' } })).toEqual({ accepted: true });
          done += 1;
        }
      }),
    );
    await waitFor(async () => (await ls(run.ctx.paths.cascadeDone)).length >= 40, 15_000, 'every cascade');
    first.child.kill('SIGTERM');
    forced.child.kill('SIGTERM');
    expect(await first.exit).toEqual({ code: 0, signal: null });
    expect(await forced.exit).toEqual({ code: 0, signal: null });
    expect(await ls(run.ctx.paths.dir)).not.toContain('.daemon.lock');

    const curate = [...(await ls(join(run.ctx.paths.dir, 'pending', 'curate'))), ...(await ls(join(run.ctx.paths.dir, 'completed', 'curate')))];
    expect(curate).toHaveLength(5 + 40);
    const all = await allTicketIds(run.ctx);
    expect(new Set(all).size).toBe(all.length);
    expect((await ls(join(run.ctx.paths.dir, 'completed', 'curate'))).length).toBe(12);
    // Every claim made for an agent was answered to that agent: none is left orphaned.
    for (const a of agents) expect((await ls(join(run.ctx.paths.dir, 'claimed', a.worker))).filter((n) => !n.startsWith('.'))).toEqual([]);
    await expectFsckOk(run.ctx);
    const text = await readFile(join(run.ctx.paths.dir, '.gitignore'), 'utf8');
    expect(text).toContain('.daemon.lock');
  });

  it('holds a few inotify watches however many tickets there are (never one per file)', async () => {
    if (process.platform !== 'linux') return;
    const ids = await addItems(run.ctx, 'parse', parseItems(2000));
    for (const id of ids.slice(0, 1000)) await completeByHand(run.ctx, 'parse', id, { beats: [] });
    for (let i = 0; i < 200; i += 1) await claimTicket(run.ctx, { stage: 'parse', workerId: i % 2 === 0 ? 'w-even' : 'w-odd' });
    const d = daemon([...FAST]);
    await waitFor(() => d.entries().some((e) => e.action === 'ready'), 30_000, 'the daemon to be ready');
    const pid = d.child.pid as number;
    let watches = 0;
    for (const fd of await readdir(`/proc/${pid}/fd`)) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      if (!target.includes('inotify')) continue;
      const info = await readFile(`/proc/${pid}/fdinfo/${fd}`, 'utf8').catch(() => '');
      watches += info.split('\n').filter((l) => l.startsWith('inotify wd:')).length;
    }
    console.log(`inotify watches of a daemon on 2000 tickets (1000 completed, 200 claimed by 2 workers): ${watches}`);
    // root, run, requests, claimed, 2 workers, completed, completed/parse: about 8, never thousands.
    expect(watches).toBeGreaterThanOrEqual(5);
    expect(watches).toBeLessThan(20);
    d.child.kill('SIGTERM');
    expect((await d.exit).code).toBe(0);
  });
});
