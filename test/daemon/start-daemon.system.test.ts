import { mkdir, rmdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { childTicketId } from '../../src/core/model/ids.js';
import { claimTicket } from '../../src/core/ops/claim-ticket.js';
import { submitTicket } from '../../src/core/ops/submit-ticket.js';
import { createRun } from '../../src/core/ops/create-run.js';
import { startDaemon } from '../../src/daemon/start-daemon.js';
import type { DaemonLogEntry } from '../../src/daemon/daemon-log.js';
import { addItems, examplePipeline, makeRun, parseItems, type TestRun } from '../helpers/make-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';
import { expectFsckOk, ls, readTicketFile, stateFile } from '../helpers/ticket-files.js';
import { waitFor } from '../helpers/wait-for.js';
import { allTicketIds, completeByHand, passDaemon, readJson } from './daemon-test-kit.js';

let root: string;
let run: TestRun;
beforeEach(async () => {
  root = await makeTempDir();
  run = await makeRun(root);
});
afterEach(async () => {
  await removeDir(root);
});

describe('startDaemon: full passes', () => {
  it('cascades tickets completed by hand, once, however many passes run', async () => {
    const ids = await addItems(run.ctx, 'parse', parseItems(3));
    const [a, b] = ids as [string, string];
    await completeByHand(run.ctx, 'parse', a, { beats: [1] });
    await completeByHand(run.ctx, 'parse', b, { beats: [2] });
    const d = await passDaemon(root, run.clock);
    await d.daemon.pass();
    await d.daemon.pass();
    await d.daemon.stop();
    for (const parent of [a, b]) {
      const child = childTicketId({ to: 'translate', parentId: parent });
      expect(await ls(join(run.ctx.paths.dir, 'pending', 'translate'))).toContain(`${child}.json`);
      expect((await readTicketFile(stateFile(run.ctx, 'pending', 'translate', child))).lineage.parents).toEqual([parent]);
      expect(await ls(run.ctx.paths.cascadeDone)).toContain(`${parent}.json`);
    }
    expect(d.actions('cascaded').map((e) => e.ticket_id).sort()).toEqual([a, b].sort());
    const all = await allTicketIds(run.ctx);
    expect(new Set(all).size).toBe(all.length);
    await expectFsckOk(run.ctx);
  });

  it('de-duplicates keyed children of parents completed by hand and records every parent', async () => {
    const ids = await addItems(run.ctx, 'translate', [{ t: 1 }, { t: 2 }]);
    for (const [i, id] of ids.entries()) await completeByHand(run.ctx, 'translate', id, { new_nouns: [{ noun: 'Lutèce' }, { noun: `Only${i}` }] });
    const d = await passDaemon(root, run.clock);
    await d.daemon.pass();
    await d.daemon.stop();
    const curate = await ls(join(run.ctx.paths.dir, 'pending', 'curate'));
    expect(curate).toHaveLength(3);
    const shared = childTicketId({ to: 'curate', parentId: ids[0] as string, key: 'Lutèce' });
    expect(curate).toContain(`${shared}.json`);
    expect((await ls(run.ctx.paths.requestedBy)).filter((n) => n.startsWith(`${shared}~`))).toHaveLength(2);
    await expectFsckOk(run.ctx);
  });

  it('quarantines a completed file that stays unparseable, only after the settle time', async () => {
    const bad = join(run.ctx.paths.dir, 'completed', 'parse', 'parse-handmade-1.json');
    await mkdir(join(bad, '..'), { recursive: true });
    await writeFile(bad, '{"ticket_id": "parse-handm');
    const d = await passDaemon(root, run.clock);
    await d.daemon.pass();
    expect(await ls(join(bad, '..'))).toContain('parse-handmade-1.json');
    run.clock.advance(1000);
    await d.daemon.pass();
    await d.daemon.stop();
    expect(await ls(join(bad, '..'))).not.toContain('parse-handmade-1.json');
    expect((await ls(run.ctx.paths.quarantine)).some((n) => n.startsWith('parse-handmade-1.json~'))).toBe(true);
    expect(d.actions('quarantined')).toHaveLength(1);
  });

  it('reaps expired claims on the injected clock and logs it', async () => {
    const [id] = await addItems(run.ctx, 'parse', parseItems(1));
    await claimTicket(run.ctx, { stage: 'parse', workerId: 'w1', lease: '1m' });
    const d = await passDaemon(root, run.clock);
    await d.daemon.pass();
    expect(d.actions('reaped: requeued')).toHaveLength(0);
    run.clock.advance(61_000);
    await d.daemon.pass();
    await d.daemon.stop();
    expect(d.actions('reaped: requeued').map((e) => e.ticket_id)).toEqual([id]);
    const t = await readTicketFile(stateFile(run.ctx, 'pending', 'parse', id as string));
    expect(t.attempts).toBe(1);
    await expectFsckOk(run.ctx);
  });

  it('finishes a move a crashed mover left in moving/', async () => {
    const [id] = await addItems(run.ctx, 'parse', parseItems(1));
    const src = stateFile(run.ctx, 'pending', 'parse', id as string);
    const t = await readTicketFile(src);
    // A mover that died after the fence: next + prev in moving/, nothing in pending/. The draft
    // records its move, as every mover's does (without it, fsck reports it as hand-moved).
    const history = [...t.history, { at: t.created_at, event: 'reaped', from: 'claimed', to: 'failed' }];
    await writeFile(join(run.ctx.paths.moving, `${id}~aaaaaaaaaaaa.next.json`), `${JSON.stringify({ ...t, status: 'failed', history }, null, 2)}\n`);
    const { rename } = await import('node:fs/promises');
    await rename(src, join(run.ctx.paths.moving, `${id}~aaaaaaaaaaaa.prev.json`));
    const d = await passDaemon(root, run.clock);
    await d.daemon.pass();
    await d.daemon.stop();
    expect(d.actions('recovered: finished move').map((e) => e.ticket_id)).toEqual([id]);
    expect(await ls(join(run.ctx.paths.dir, 'failed', 'parse'))).toEqual([`${id}.json`]);
    await expectFsckOk(run.ctx);
  });

  it('removes temp files left by crashed writers only once they are old', async () => {
    await mkdir(run.ctx.paths.tmp, { recursive: true });
    await writeFile(join(run.ctx.paths.tmp, 'x.json.123.abc.tmp'), 'half');
    const d = await passDaemon(root, run.clock);
    await d.daemon.pass();
    run.clock.advance(30_000);
    await d.daemon.pass();
    expect(await ls(run.ctx.paths.tmp)).toHaveLength(1);
    run.clock.advance(30_000);
    await d.daemon.pass();
    await d.daemon.stop();
    expect(await ls(run.ctx.paths.tmp)).toHaveLength(0);
    await expectFsckOk(run.ctx);
  });
});

describe('startDaemon: watcher hints', () => {
  const modes: { label: string; poll: boolean; runs?: string[] }[] = [
    { label: 'every run, inotify', poll: false },
    { label: 'every run, --poll', poll: true },
    { label: 'a named run', poll: false, runs: ['demo'] },
  ];
  for (const { label, poll, runs } of modes) {
    it(`acts on a change at once, long before the next rescan (${label})`, async () => {
      const ids = await addItems(run.ctx, 'parse', parseItems(3));
      const logs: DaemonLogEntry[] = [];
      // Why: a rescan interval far longer than the test: only a watcher event can trigger the work.
      const daemon = await startDaemon({ root, poll, ...(runs ? { runs } : {}), intervalMs: 600_000, durability: 'none', log: (e) => logs.push(e) });
      try {
        await daemon.ready();
        await writeFile(join(run.ctx.paths.requests, 'agent-1~r1.json'), '{"stage": "parse"}');
        const reply = await waitFor(async () => {
          const r = await readJson(join(run.ctx.paths.requests, 'agent-1~r1.reply.json')).catch(() => undefined);
          return r?.request_id === 'r1' ? r : undefined;
        }, 10_000, 'a reply to the request');
        expect(reply.status).toBe('claimed');
        expect(ids).toContain(reply.ticket_id);
        // Tickets completed by hand are cascaded on the event too: the first creates completed/parse/
        // (a new directory to watch), the second lands in the watched directory.
        const others = ids.filter((i) => i !== reply.ticket_id);
        for (const other of others) {
          await completeByHand(run.ctx, 'parse', other, { beats: [] });
          await waitFor(async () => (await ls(run.ctx.paths.cascadeDone)).includes(`${other}.json`), 10_000, 'the cascade of a hand-completed ticket');
        }
        expect(logs.filter((e) => e.action === 'cascaded')).toHaveLength(2);
      } finally {
        await daemon.stop();
      }
      await expectFsckOk(run.ctx);
    });
  }

  it('serves result files on their events, in a worker directory made after it started and made again after a removal', async () => {
    const ids = await addItems(run.ctx, 'parse', parseItems(2));
    const logs: DaemonLogEntry[] = [];
    // Why: rescans far apart: only events (and the light rescans, which skip watched directories) can do it.
    const daemon = await startDaemon({ root, runs: ['demo'], intervalMs: 300, fullEvery: 1000, durability: 'none', log: (e) => logs.push(e) });
    try {
      await daemon.ready();
      for (const i of ids.keys()) {
        const dir = join(run.ctx.paths.dir, 'claimed', 'w9');
        const c = await claimTicket(run.ctx, { stage: 'parse', workerId: 'w9' });
        expect(c?.ticket.ticket_id).toBeDefined();
        const held = String(c?.ticket.ticket_id);
        // Wait for a rescan to watch the (new, or new again) directory, as an agent reads its ticket first.
        const ino = (await stat(dir)).ino;
        await waitFor(() => daemon.watches(dir, ino), 10_000, 'the daemon to watch the worker directory');
        await writeFile(join(dir, `${held}~1.result.json`), JSON.stringify({ output_data: { beats: [] } }));
        await waitFor(async () => (await ls(join(run.ctx.paths.dir, 'completed', 'parse'))).includes(`${held}.json`), 10_000, `result ${i + 1} to be submitted`);
        await waitFor(async () => !(await ls(dir)).includes(`${held}~1.result.json`), 10_000, 'the result file to be removed');
        expect(await ls(dir)).toEqual([]);
        // As git does with an empty directory: the next claim makes it again (a new inode).
        await rmdir(dir);
        // Why: ext4 may give the new directory the same inode; the old watch must be gone first.
        await waitFor(() => !daemon.watches(dir, ino), 10_000, 'the daemon to drop the watch of the removed directory');
      }
      expect(logs.filter((e) => e.action === 'submitted').map((e) => e.ticket_id).sort()).toEqual([...ids].sort());
    } finally {
      await daemon.stop();
    }
    await expectFsckOk(run.ctx);
  });

  it('serves a run created after it started (no run named)', async () => {
    const daemon = await startDaemon({ root, intervalMs: 600_000, durability: 'none' });
    try {
      await daemon.ready();
      const ctx2 = await createRun(root, 'later', { pipeline: examplePipeline(), durability: 'none' });
      await addItems(ctx2, 'parse', parseItems(1));
      await waitFor(() => daemon.runIds().includes('later'), 10_000, 'the new run to be picked up');
      await writeFile(join(ctx2.paths.requests, 'agent-2~late.json'), '{"stage": "parse"}');
      const reply = await waitFor(async () => {
        const r = await readJson(join(ctx2.paths.requests, 'agent-2~late.reply.json')).catch(() => undefined);
        return r?.request_id === 'late' ? r : undefined;
      }, 10_000, 'a reply in the new run');
      expect(reply.status).toBe('claimed');
      // The submit cascades inline while the daemon may race it: the child exists exactly once.
      const done = await submitTicket(ctx2, { ticketId: String(reply.ticket_id), workerId: 'agent-2', output: { beats: [] } });
      expect([...(done.cascade?.created ?? []), ...(done.cascade?.deduplicated ?? [])]).toEqual([childTicketId({ to: 'translate', parentId: done.ticket.ticket_id })]);
      await waitFor(async () => (await ls(ctx2.paths.cascadeDone)).length === 1, 10_000, 'the marker');
      expect(await ls(join(ctx2.paths.dir, 'pending', 'translate'))).toHaveLength(1);
    } finally {
      await daemon.stop();
    }
    expect(await ls(join(root, 'later'))).not.toContain('.daemon.lock');
  });
});
