import type { Dir } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { nodeFs, type Fs } from '../../../src/core/store/fs-layer.js';
import { claimTicket } from '../../../src/core/ops/claim-ticket.js';
import { isTqError } from '../../../src/core/model/errors.js';
import { addItems, makeRun, parseItems, T0, type TestRun } from '../../helpers/make-run.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';
import { expectFsckOk, ls, pendingDir, readTicketFile } from '../../helpers/ticket-files.js';

let root: string;
let run: TestRun;
beforeEach(async () => {
  root = await makeTempDir();
  run = await makeRun(root);
});
afterEach(async () => {
  await removeDir(root);
});

describe('claimTicket', () => {
  it('claims exactly one ticket, stamping a lease and a token', async () => {
    const ids = await addItems(run.ctx, 'parse', parseItems(3));
    const r = await claimTicket(run.ctx, { stage: 'parse', workerId: 'w1' });
    expect(r).not.toBeNull();
    if (!r) return;
    expect(ids).toContain(r.ticket.ticket_id);
    expect(r.path).toBe(join(run.ctx.paths.dir, 'claimed', 'w1', `${r.ticket.ticket_id}.json`));
    expect(r.ticket.status).toBe('claimed');
    expect(r.ticket.claim).toEqual({
      worker_id: 'w1',
      claimed_at: T0,
      lease_expires_at: '2030-01-01T00:10:00.000Z', // parse lease is 10m
      token: `${r.ticket.ticket_id}#1`,
    });
    expect(await readTicketFile(r.path)).toEqual(r.ticket);
    expect(await ls(pendingDir(run.ctx, 'parse'))).toHaveLength(2);
    await expectFsckOk(run.ctx);
  });

  it('honours an explicit lease', async () => {
    await addItems(run.ctx, 'parse', parseItems(1));
    const r = await claimTicket(run.ctx, { stage: 'parse', workerId: 'w1', lease: '90s' });
    expect(r?.ticket.claim?.lease_expires_at).toBe('2030-01-01T00:01:30.000Z');
  });

  it('returns null when nothing is pending (and when the stage dir does not exist)', async () => {
    expect(await claimTicket(run.ctx, { stage: 'translate', workerId: 'w1' })).toBeNull();
    await addItems(run.ctx, 'parse', parseItems(2));
    expect(await claimTicket(run.ctx, { stage: 'parse', workerId: 'w1' })).not.toBeNull();
    expect(await claimTicket(run.ctx, { stage: 'parse', workerId: 'w2' })).not.toBeNull();
    expect(await claimTicket(run.ctx, { stage: 'parse', workerId: 'w1' })).toBeNull();
  });

  it('refuses an unknown stage and a bad worker id', async () => {
    await expect(claimTicket(run.ctx, { stage: 'nope', workerId: 'w1' })).rejects.toSatisfy((e) => isTqError(e, 'USAGE'));
    await expect(claimTicket(run.ctx, { stage: 'parse', workerId: '../w1' })).rejects.toSatisfy((e) => isTqError(e, 'INVALID_ID'));
  });

  it('quarantines a corrupt pending file and claims the next one (in the same call)', async () => {
    const [good] = await addItems(run.ctx, 'parse', parseItems(1));
    const bad = join(pendingDir(run.ctx, 'parse'), 'parse-corrupt-1.json');
    await writeFile(bad, '{"ticket_id": "parse-corrupt-1", ');
    // Make the order deterministic: the directory yields the corrupt file first and the
    // shuffle keeps the order (Math.random ~ 1 means "swap with itself").
    const fs: Fs = {
      ...nodeFs,
      async opendir(path) {
        const entries = (await readdir(path, { withFileTypes: true })).sort((x, y) => Number(y.name.includes('corrupt')) - Number(x.name.includes('corrupt')));
        let i = 0;
        const fake = { read: async () => entries[i++] ?? null, close: async () => undefined };
        return fake as unknown as Dir;
      },
    };
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.999999);
    try {
      const r = await claimTicket({ ...run.ctx, fs }, { stage: 'parse', workerId: 'w1' });
      expect(r?.ticket.ticket_id).toBe(good);
    } finally {
      random.mockRestore();
    }
    const q = await ls(run.ctx.paths.quarantine);
    expect(q.filter((n) => n.startsWith('parse-corrupt-1.json~') && !n.endsWith('.why.json'))).toHaveLength(1);
    const why = JSON.parse(await readFile(join(run.ctx.paths.quarantine, q.find((n) => n.endsWith('.why.json')) as string), 'utf8')) as { reason: string };
    expect(why.reason).toMatch(/not valid JSON/);
    expect(await ls(join(run.ctx.paths.dir, 'claimed', 'w1'))).toEqual([`${good}.json`]);
    expect(await ls(pendingDir(run.ctx, 'parse'))).toEqual([]);
    expect(await claimTicket(run.ctx, { stage: 'parse', workerId: 'w1' })).toBeNull();
  });

  it('quarantines a pending file of the wrong stage or with a mismatched ticket_id', async () => {
    const [a, b] = await addItems(run.ctx, 'parse', parseItems(2));
    const pa = join(pendingDir(run.ctx, 'parse'), `${a}.json`);
    const t = await readTicketFile(pa);
    // a's file now claims to be another id
    await writeFile(pa, JSON.stringify({ ...t, ticket_id: 'parse-someone-else' }));
    // Why a loop: claim takes candidates in random order; b may be claimed before a's file is met.
    const got = new Map<string, string[]>();
    for (let i = 0; i < 4; i += 1) {
      const r = await claimTicket(run.ctx, { stage: 'parse', workerId: 'w1' });
      if (r) got.set(r.ticket.ticket_id, r.ticket.history.map((h) => h.event));
    }
    expect([...got.keys()].sort()).toEqual([String(a), String(b)].sort());
    // The bad file was quarantined and ticket a restored from its birth record: claimed once.
    expect((await ls(run.ctx.paths.quarantine)).some((n) => n.startsWith(`${a}.json~`))).toBe(true);
    expect(got.get(String(a))).toEqual(['created', 'restored from registry', 'claimed']);
    expect(await claimTicket(run.ctx, { stage: 'parse', workerId: 'w1' })).toBeNull();
  });

  it('continues one directory stream across batches of candidates, and starts over at its end', async () => {
    await addItems(run.ctx, 'parse', parseItems(300));
    let opened = 0;
    const fs: Fs = {
      ...nodeFs,
      async opendir(path) {
        opened += 1;
        return nodeFs.opendir(path);
      },
    };
    const ctx = { ...run.ctx, fs };
    const claimed = new Set<string>();
    for (let i = 0; i < 300; i += 1) {
      const r = await claimTicket(ctx, { stage: 'parse', workerId: 'w1' });
      if (r) claimed.add(r.ticket.ticket_id);
    }
    expect(claimed.size).toBe(300);
    // 300 names are more than one batch (256): the second batch came from the same stream.
    expect(opened).toBe(1);
    expect(await claimTicket(ctx, { stage: 'parse', workerId: 'w1' })).toBeNull();
    // Tickets that arrive after the stream ended are found by a fresh one.
    // Why other items: the first three again would be the same items, which add skips.
    const later = await addItems(run.ctx, 'parse', parseItems(303).slice(300));
    const again = await claimTicket(ctx, { stage: 'parse', workerId: 'w1' });
    expect(later).toContain(again?.ticket.ticket_id);
    await expectFsckOk(run.ctx);
  });
});
