/**
 * Recovery reads files in moving/ that anyone could have written: a ticket's id comes from the
 * file's name, where it goes from that id and content checked against it, and a commit into a
 * finished state never replaces a finished ticket.
 */
import { link, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recoverMoving } from '../../../src/core/protocol/recover-moving.js';
import { claimTicket } from '../../../src/core/ops/claim-ticket.js';
import { submitTicket } from '../../../src/core/ops/submit-ticket.js';
import { serializeTicket } from '../../../src/core/model/serialize-ticket.js';
import { newTicket } from '../../../src/core/model/new-ticket.js';
import { registryPath } from '../../../src/core/protocol/birth-ticket.js';
import type { Ticket } from '../../../src/core/model/ticket-schema.js';
import type { RunCtx } from '../../../src/core/store/run-context.js';
import { addItems, makeRun, parseItems } from '../../helpers/make-run.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';
import { expectFsckOk, ls, readTicketFile, stateFile } from '../../helpers/ticket-files.js';
import { copiesOf, hashTree } from '../../helpers/run-invariants.js';

let dir: string;
let ctx: RunCtx;
beforeEach(async () => {
  dir = await makeTempDir();
  ctx = (await makeRun(join(dir, 'runs'))).ctx;
  await mkdir(ctx.paths.moving, { recursive: true });
});
afterEach(async () => {
  await removeDir(dir);
});

const N = 'aaaaaaaaaaaa';

async function claimed(worker = 'w1'): Promise<{ id: string; path: string; ticket: Ticket }> {
  const r = await claimTicket(ctx, { stage: 'parse', workerId: worker });
  if (!r) throw new Error('nothing claimed');
  return { id: r.ticket.ticket_id, path: r.path, ticket: r.ticket };
}

function submitted(t: Ticket, output: Record<string, unknown>): Ticket {
  return { ...t, status: 'completed', output_data: output, completed_at: t.created_at, history: [...t.history, { at: t.created_at, event: 'submitted', from: 'claimed', to: 'completed', worker_id: 'w1' }] };
}

/** A fenced move of `id` interrupted before its commit: the draft `next`, the source taken as .prev. */
async function interrupted(id: string, source: string, next: Ticket | string): Promise<{ next: string; prev: string }> {
  const names = { next: join(ctx.paths.moving, `${id}~${N}.next.json`), prev: join(ctx.paths.moving, `${id}~${N}.prev.json`) };
  await writeFile(names.next, typeof next === 'string' ? next : serializeTicket(next));
  await rename(source, names.prev);
  return names;
}

describe('recoverMoving', () => {
  it('a commit into completed/ interrupted between its link and its unlink: the move is finished, one copy', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    const c = await claimed();
    const names = await interrupted(c.id, c.path, submitted(c.ticket, { beats: [1] }));
    await mkdir(join(ctx.paths.dir, 'completed', 'parse'), { recursive: true });
    await link(names.next, stateFile(ctx, 'completed', 'parse', c.id));
    expect((await recoverMoving(ctx, 0)).map((a) => a.action)).toEqual(['finished move']);
    expect(await ls(ctx.paths.moving)).toEqual([]);
    expect(await copiesOf(ctx, c.id)).toEqual([`completed/parse/${c.id}.json`]);
    expect((await readTicketFile(stateFile(ctx, 'completed', 'parse', c.id))).output_data).toEqual({ beats: [1] });
  });

  it('never replaces a finished ticket: the interrupted result is kept in rejected/, its source quarantined', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    const c = await claimed();
    const copy = join(dir, 'copy.json');
    await writeFile(copy, await readFile(c.path));
    await submitTicket(ctx, { ticketId: c.id, workerId: 'w1', output: { beats: ['first'] } });
    const first = await readFile(stateFile(ctx, 'completed', 'parse', c.id), 'utf8');
    await interrupted(c.id, copy, submitted(c.ticket, { beats: ['second'] }));
    expect((await recoverMoving(ctx, 0)).map((a) => a.action).sort()).toEqual(['kept aborted output', 'quarantined']);
    expect(await readFile(stateFile(ctx, 'completed', 'parse', c.id), 'utf8')).toBe(first);
    expect(await copiesOf(ctx, c.id)).toEqual([`completed/parse/${c.id}.json`]);
    const kept = (await ls(ctx.paths.rejected)).filter((n) => n.startsWith(`${c.id}~`));
    expect(kept).toHaveLength(1);
    expect(JSON.parse(await readFile(join(ctx.paths.rejected, kept[0] as string), 'utf8'))).toMatchObject({ output_data: { beats: ['second'] } });
    expect(await ls(ctx.paths.moving)).toEqual([]);
    await expectFsckOk(ctx);
  });

  it('a draft whose ticket_id disagrees with its file name is not committed: quarantined, the move undone from .prev', async () => {
    const [, other] = await addItems(ctx, 'parse', parseItems(2));
    const c = await claimed();
    const forged = submitted({ ...c.ticket, ticket_id: c.id === other ? 'parse-x' : (other as string) }, { beats: [] });
    await interrupted(c.id, c.path, forged);
    const actions = await recoverMoving(ctx, 0);
    expect(actions.map((a) => a.action)).toEqual(['quarantined', 'restored']);
    expect(await copiesOf(ctx, c.id)).toEqual([`claimed/w1/${c.id}.json`]);
    expect(await ls(join(ctx.paths.dir, 'completed'))).toEqual([]);
    await expectFsckOk(ctx);
  });

  it('a claimed draft whose claim.worker_id is "../../../victim" is quarantined; nothing outside the run is written', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    const c = await claimed();
    const victim = join(dir, 'victim');
    await mkdir(victim, { recursive: true });
    await writeFile(join(victim, `${c.id}.json`), 'sentinel\n');
    const hash = await hashTree(victim);
    const forged = { ...c.ticket, claim: { ...(c.ticket.claim as NonNullable<Ticket['claim']>), worker_id: '../../../victim' } };
    await interrupted(c.id, c.path, forged);
    const actions = await recoverMoving(ctx, 0);
    expect(actions.map((a) => a.action)).toEqual(['quarantined', 'restored']);
    const why = (await ls(ctx.paths.quarantine)).find((n) => n.endsWith('.why.json'));
    expect(JSON.parse(await readFile(join(ctx.paths.quarantine, why as string), 'utf8')).reason).toContain('claim.worker_id');
    expect(await hashTree(victim)).toBe(hash);
    expect(await copiesOf(ctx, c.id)).toEqual([`claimed/w1/${c.id}.json`]);
    await expectFsckOk(ctx);
  });

  it('a lone .prev that is not its ticket (edited worker_type): quarantined, and the ticket restored from registry/', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    const c = await claimed();
    const prev = join(ctx.paths.moving, `${c.id}~${N}.prev.json`);
    await writeFile(prev, serializeTicket({ ...c.ticket, worker_type: 'translate' }));
    await rename(c.path, join(dir, 'gone.json'));
    const actions = await recoverMoving(ctx, 0);
    expect(actions.map((a) => a.action)).toEqual(['quarantined', 'restored from registry']);
    expect(await copiesOf(ctx, c.id)).toEqual([`pending/parse/${c.id}.json`]);
    await expectFsckOk(ctx);
  });

  it('a name in moving/ whose id is no valid ticket id is quarantined, never used as a path', async () => {
    await writeFile(join(ctx.paths.moving, `..~${N}.next.json`), '{}');
    expect((await recoverMoving(ctx, 0)).map((a) => a.action)).toEqual(['quarantined']);
    expect(await ls(ctx.paths.moving)).toEqual([]);
  });
});

/** The states "read after the fence" adds (move-ticket.ts): a crash between the fence and the draft. */
describe('recoverMoving: a crash after the fence, before the draft', () => {
  const names = (id: string): { next: string; prev: string } => ({ next: join(ctx.paths.moving, `${id}~${N}.next.json`), prev: join(ctx.paths.moving, `${id}~${N}.prev.json`) });

  it('a lone .prev whose ticket is nowhere else: put back where its content says (claimed/w1/), once', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    const c = await claimed();
    const before = await readFile(c.path, 'utf8');
    await rename(c.path, names(c.id).prev);
    expect((await recoverMoving(ctx, 0)).map((a) => [a.action, a.file])).toEqual([['restored', names(c.id).prev]]);
    expect(await ls(ctx.paths.moving)).toEqual([]);
    expect(await copiesOf(ctx, c.id)).toEqual([`claimed/w1/${c.id}.json`]);
    expect(await readFile(c.path, 'utf8')).toBe(before);
    await expectFsckOk(ctx);
  });

  it('a lone .prev of a ticket committed elsewhere (the crash came after the commit): removed', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    const c = await claimed();
    await writeFile(names(c.id).prev, await readFile(c.path));
    await submitTicket(ctx, { ticketId: c.id, workerId: 'w1', output: { beats: [] } });
    expect((await recoverMoving(ctx, 0)).map((a) => a.action)).toEqual(['cleared']);
    expect(await ls(ctx.paths.moving)).toEqual([]);
    expect(await copiesOf(ctx, c.id)).toEqual([`completed/parse/${c.id}.json`]);
  });

  it('a lone .next holding the taken version, its ticket nowhere else (recovery claimed a .prev and crashed before publishing): published', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    const c = await claimed();
    await rename(c.path, names(c.id).next);
    expect((await recoverMoving(ctx, 0)).map((a) => a.action)).toEqual(['restored']);
    expect(await copiesOf(ctx, c.id)).toEqual([`claimed/w1/${c.id}.json`]);
    expect(await ls(ctx.paths.moving)).toEqual([]);
    await expectFsckOk(ctx);
  });

  it('.next and .prev with the same content (recovery claimed the .prev, crashed before unlinking it): put back once', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    const c = await claimed();
    await rename(c.path, names(c.id).prev);
    await link(names(c.id).prev, names(c.id).next);
    expect((await recoverMoving(ctx, 0)).map((a) => a.action)).toEqual(['finished move']);
    expect(await copiesOf(ctx, c.id)).toEqual([`claimed/w1/${c.id}.json`]);
    expect(await ls(ctx.paths.moving)).toEqual([]);
    await expectFsckOk(ctx);
  });

  it('a lone .prev torn empty by a power cut: removed, and the ticket restored from registry/', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    const c = await claimed();
    await rename(c.path, names(c.id).prev);
    await writeFile(names(c.id).prev, '');
    const actions = (await recoverMoving(ctx, 0)).map((a) => a.action);
    expect(actions).toContain('restored from registry');
    expect(await copiesOf(ctx, c.id)).toEqual([`pending/parse/${c.id}.json`]);
    expect(await ls(ctx.paths.moving)).toEqual([]);
    await expectFsckOk(ctx);
  });

  it('a lone .prev while a slow mover has drafted meanwhile (its .next exists): the move is finished, never undone', async () => {
    await addItems(ctx, 'parse', parseItems(1));
    const c = await claimed();
    await rename(c.path, names(c.id).prev);
    await writeFile(names(c.id).next, serializeTicket(submitted(c.ticket, { beats: [2] })));
    expect((await recoverMoving(ctx, 0)).map((a) => a.action)).toEqual(['finished move']);
    expect(await copiesOf(ctx, c.id)).toEqual([`completed/parse/${c.id}.json`]);
  });
});

describe('recoverMoving: a birth whose creator died while writing its record', () => {
  it('a torn record (a prefix of the staged ticket) is completed from the staged copy and the ticket published', async () => {
    const t = newTicket({ runId: ctx.runId, stage: 'parse', input: { id: 'torn' }, now: new Date('2030-01-01T00:00:00Z'), pipeline: ctx.config.pipeline });
    const text = serializeTicket(t);
    await writeFile(join(ctx.paths.moving, `${t.ticket_id}~${N}.new.json`), text);
    await mkdir(join(ctx.paths.registry, 'parse'), { recursive: true });
    await writeFile(registryPath(ctx, 'parse', t.ticket_id), text.slice(0, 40));
    expect((await recoverMoving(ctx, 0)).map((a) => a.action)).toEqual(['published birth']);
    expect(await readFile(registryPath(ctx, 'parse', t.ticket_id), 'utf8')).toBe(text);
    expect(await copiesOf(ctx, t.ticket_id)).toEqual([`pending/parse/${t.ticket_id}.json`]);
    await expectFsckOk(ctx);
  });

  it('a record that is no prefix of the staged ticket is another birth: the staged copy is dropped', async () => {
    const t = newTicket({ runId: ctx.runId, stage: 'parse', input: { id: 'other' }, now: new Date('2030-01-01T00:00:00Z'), pipeline: ctx.config.pipeline });
    await writeFile(join(ctx.paths.moving, `${t.ticket_id}~${N}.new.json`), serializeTicket(t));
    await mkdir(join(ctx.paths.registry, 'parse'), { recursive: true });
    await writeFile(registryPath(ctx, 'parse', t.ticket_id), serializeTicket({ ...t, input_data: { id: 'else' } }).slice(0, 300));
    expect((await recoverMoving(ctx, 0)).map((a) => a.action)).toEqual(['dropped unregistered birth']);
    expect(await copiesOf(ctx, t.ticket_id)).toEqual([]);
  });
});
