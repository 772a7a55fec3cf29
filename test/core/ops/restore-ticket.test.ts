import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { quarantineAndRestore } from '../../../src/core/ops/restore-ticket.js';
import { claimTicket } from '../../../src/core/ops/claim-ticket.js';
import { registryPath } from '../../../src/core/protocol/birth-ticket.js';
import { claimedLocation, checkTicketLocation } from '../../../src/core/store/ticket-location.js';
import { TqError } from '../../../src/core/model/errors.js';
import type { Ticket } from '../../../src/core/model/ticket-schema.js';
import type { RunCtx } from '../../../src/core/store/run-context.js';
import { addItems, makeRun, parseItems } from '../../helpers/make-run.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';
import { expectFsckOk, ls, readTicketFile, stateFile, writeTicketFile } from '../../helpers/ticket-files.js';
import { copiesOf } from '../../helpers/run-invariants.js';

let root: string;
let ctx: RunCtx;
beforeEach(async () => {
  root = await makeTempDir();
  ctx = (await makeRun(root)).ctx;
});
afterEach(async () => {
  await removeDir(root);
});

async function claimed(worker = 'w1'): Promise<{ id: string; path: string; ticket: Ticket }> {
  const r = await claimTicket(ctx, { stage: 'parse', workerId: worker });
  if (!r) throw new Error('nothing claimed');
  return { id: r.ticket.ticket_id, path: r.path, ticket: r.ticket };
}

function problemOf(t: Ticket, id: string, worker: string, path: string): string {
  try {
    checkTicketLocation(t, claimedLocation(id, worker), path);
  } catch (err) {
    return (err as TqError).message;
  }
  throw new Error('no problem');
}

describe('quarantineAndRestore', () => {
  it('quarantines the file with a .why.json naming file and field, and restores the ticket from registry/ into pending/', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    const c = await claimed();
    const edited = { ...c.ticket, worker_type: 'translate' };
    await writeTicketFile(c.path, edited);
    const why = problemOf(edited, c.id, 'w1', c.path);
    const r = await quarantineAndRestore(ctx, claimedLocation(c.id, 'w1'), c.path, why);
    expect(r.restored).toBe(stateFile(ctx, 'pending', 'parse', c.id));
    expect(r.quarantined?.startsWith(ctx.paths.quarantine)).toBe(true);
    const record = JSON.parse(await readFile(`${r.quarantined as string}.why.json`, 'utf8')) as { file: string; reason: string };
    expect(record.file).toBe(relative(ctx.paths.dir, c.path));
    expect(record.reason).toContain('field worker_type');
    const restored = await readTicketFile(stateFile(ctx, 'pending', 'parse', c.id));
    expect(restored.history.at(-1)).toMatchObject({ event: 'restored from registry', to: 'pending' });
    expect(restored.claim).toBeNull();
    expect(await copiesOf(ctx, c.id)).toEqual([`pending/parse/${c.id}.json`]);
    await expectFsckOk(ctx);
  });

  it('restores nothing while the ticket is somewhere else (a copy was the bad file)', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    const c = await claimed();
    const copy = stateFile(ctx, 'claimed', 'w2', c.id);
    await mkdir(join(copy, '..'), { recursive: true });
    await writeTicketFile(copy, c.ticket);
    const r = await quarantineAndRestore(ctx, claimedLocation(c.id, 'w2'), copy, problemOf(c.ticket, c.id, 'w2', copy));
    expect(r.restored).toBeUndefined();
    expect(r.quarantined).toBeTruthy();
    expect(await copiesOf(ctx, c.id)).toEqual([`claimed/w1/${c.id}.json`]);
  });

  it('never publishes a birth record that is not the ticket (edited registry entry)', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    const c = await claimed();
    const reg = registryPath(ctx, 'parse', c.id);
    const born = JSON.parse(await readFile(reg, 'utf8')) as Ticket;
    await writeFile(reg, JSON.stringify({ ...born, ticket_id: '../../victim' }));
    await writeFile(c.path, 'garbage');
    const r = await quarantineAndRestore(ctx, claimedLocation(c.id, 'w1'), c.path, `${c.path}: not valid JSON`);
    expect(r).toEqual({ quarantined: expect.any(String) });
    expect(await copiesOf(ctx, c.id)).toEqual([]);
    expect(await ls(join(ctx.paths.dir, 'pending', 'parse'))).toEqual([]);
  });
});
