import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimTicket } from '../../src/core/ops/claim-ticket.js';
import { readTicketAt } from '../../src/core/store/read-ticket.js';
import { serializeTicket } from '../../src/core/model/serialize-ticket.js';
import { newDaemonRun, type DaemonRun } from '../../src/daemon/daemon-run.js';
import { DEFAULT_SETTLE } from '../../src/daemon/daemon-defaults.js';
import { reapRun } from '../../src/daemon/repair-run.js';
import type { DaemonLogEntry } from '../../src/daemon/daemon-log.js';
import { addItems, makeRun, parseItems, type TestRun } from '../helpers/make-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';
import { expectFsckOk, ls } from '../helpers/ticket-files.js';

let root: string;
let run: TestRun;
let d: DaemonRun;
let logs: DaemonLogEntry[];
beforeEach(async () => {
  root = await makeTempDir();
  run = await makeRun(root);
  logs = [];
  d = newDaemonRun(run.ctx, run.clock, DEFAULT_SETTLE, (e) => logs.push(e));
});
afterEach(async () => {
  await removeDir(root);
});

const pending = (): Promise<string[]> => ls(join(run.ctx.paths.dir, 'pending', 'parse'));

describe('the reaper of light passes', () => {
  it('reads a good claim once, then again only when its lease has ended', async () => {
    await addItems(run.ctx, 'parse', parseItems(2));
    const a = await claimTicket(run.ctx, { stage: 'parse', workerId: 'w1', lease: '1m' });
    const b = await claimTicket(run.ctx, { stage: 'parse', workerId: 'w2', lease: '10m' });
    await reapRun(d, false);
    expect(d.claimDue.size).toBe(2);
    run.clock.advance(61_000);
    await reapRun(d, false);
    expect(logs.map((e) => [e.action, e.ticket_id])).toEqual([['reaped: requeued', a?.ticket.ticket_id]]);
    expect(await pending()).toEqual([`${a?.ticket.ticket_id}.json`]);
    expect([...d.claimDue.keys()]).toEqual([`w2/${b?.ticket.ticket_id}.json`]);
    await expectFsckOk(run.ctx);
  });

  it('a claim replaced under the same name with an earlier lease: found by the next full pass, or at once when an event named it', async () => {
    await addItems(run.ctx, 'parse', parseItems(1));
    const c = await claimTicket(run.ctx, { stage: 'parse', workerId: 'w1', lease: '10m' });
    const id = String(c?.ticket.ticket_id);
    await reapRun(d, false);
    // A hand edit in place: the lease now ended a minute ago.
    const path = join(run.ctx.paths.dir, 'claimed', 'w1', `${id}.json`);
    const t = await readTicketAt(run.ctx, path);
    await writeFile(path, serializeTicket({ ...t, claim: t.claim ? { ...t.claim, lease_expires_at: new Date(run.clock.now().getTime() - 60_000).toISOString() } : null }));
    await reapRun(d, false);
    expect(await pending()).toEqual([]);
    // What the daemon does on the event naming the file:
    d.claimDue.delete(`w1/${id}.json`);
    await reapRun(d, false);
    expect(await pending()).toEqual([`${id}.json`]);
    await expectFsckOk(run.ctx);
  });

  it('a full pass reads every claim again', async () => {
    await addItems(run.ctx, 'parse', parseItems(1));
    const c = await claimTicket(run.ctx, { stage: 'parse', workerId: 'w1', lease: '10m' });
    const id = String(c?.ticket.ticket_id);
    await reapRun(d, false);
    const path = join(run.ctx.paths.dir, 'claimed', 'w1', `${id}.json`);
    const t = await readTicketAt(run.ctx, path);
    await writeFile(path, serializeTicket({ ...t, claim: t.claim ? { ...t.claim, lease_expires_at: new Date(run.clock.now().getTime() - 1).toISOString() } : null }));
    await reapRun(d, true);
    expect(await pending()).toEqual([`${id}.json`]);
  });
});
