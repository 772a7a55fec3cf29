import { lstat, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseBirthRecord, serializeBirthRecord } from '../../../src/core/model/birth-record.js';
import { newTicket } from '../../../src/core/model/new-ticket.js';
import { serializeTicket } from '../../../src/core/model/serialize-ticket.js';
import { isTqError } from '../../../src/core/model/errors.js';
import { birthTicket, registryPath } from '../../../src/core/protocol/birth-ticket.js';
import { fsckRun } from '../../../src/core/fsck/fsck-run.js';
import { traceLineage } from '../../../src/core/views/lineage.js';
import { runStatus } from '../../../src/core/views/list-tickets.js';
import { examplePipeline } from '../../helpers/make-run.js';
import { makeObservedRun, type ObservedRun } from '../../helpers/observed-run.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';
import { expectFsckOk, ls, readTicketFile, stateFile } from '../../helpers/ticket-files.js';
import { parsePipeline } from '../../../src/core/model/pipeline.js';

let root: string;
beforeEach(async () => {
  root = await makeTempDir('tq-birth-');
});
afterEach(async () => {
  await removeDir(root);
});

/** Every regular file under `dir`, relative to it (like `grep -r` walks). */
async function filesUnder(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const name of await readdir(join(dir, rel))) {
    const p = join(rel, name);
    const st = await lstat(join(dir, p));
    if (st.isDirectory()) out.push(...(await filesUnder(dir, p)));
    else if (st.isFile()) out.push(p);
  }
  return out;
}

/** `grep -rl NEEDLE runDir`, relative paths. */
async function grepRl(runDir: string, needle: string): Promise<string[]> {
  const hits: string[] = [];
  for (const f of await filesUnder(runDir)) if ((await readFile(join(runDir, f), 'utf8')).includes(needle)) hits.push(f);
  return hits.sort();
}

const pipeline = parsePipeline(examplePipeline(), 'pipeline');
const ticket = newTicket({ runId: 'r', stage: 'parse', input: { id: 'walk-1' }, now: new Date('2030-01-01T00:00:00Z'), pipeline, itemKey: 'id:walk-1' });

describe('birth records', () => {
  it('are the born ticket without status, marked "record": "birth", and read back as the pending ticket', () => {
    const text = serializeBirthRecord(ticket);
    const raw = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(raw)[0]).toBe('record');
    expect(raw.record).toBe('birth');
    expect('status' in raw).toBe(false);
    expect(text).not.toContain('"status"');
    expect(parseBirthRecord(text, 'reg.json')).toEqual(ticket);
  });

  it('the older form (a copy of the ticket) still reads', () => {
    expect(parseBirthRecord(serializeTicket(ticket), 'reg.json')).toEqual(ticket);
  });

  it('a damaged one is CORRUPT_TICKET naming the file and field', () => {
    const bad = serializeBirthRecord(ticket).replace('"ticket_id": "', '"ticket_id": 7, "x": "');
    let err: unknown;
    try {
      parseBirthRecord(bad, 'registry/parse/x.json');
    } catch (e) {
      err = e;
    }
    expect(isTqError(err, 'CORRUPT_TICKET')).toBe(true);
    expect((err as Error).message).toContain('registry/parse/x.json');
  });

  it('after a run, grep -rl \'"status": "pending"\' outside registry/ finds only files in pending/; each birth record is its ticket as born', async () => {
    const run = await makeObservedRun(root);
    const hits = (await grepRl(run.ctx.paths.dir, '"status": "pending"')).filter((f) => !f.startsWith('registry/'));
    expect(hits.length).toBeGreaterThan(0);
    expect(hits.filter((f) => !f.startsWith('pending/'))).toEqual([]);
    // Every birth record (a hard link made at birth) is the born ticket: pending, never claimed.
    const records = (await filesUnder(run.ctx.paths.dir)).filter((f) => f.startsWith('registry/'));
    expect(records.length).toBeGreaterThanOrEqual(7);
    for (const f of records) {
      const text = await readFile(join(run.ctx.paths.dir, f), 'utf8');
      expect(JSON.parse(text)).toMatchObject({ status: 'pending', claim: null, claim_count: 0, output_data: null });
      expect(parseBirthRecord(text, f).ticket_id).toBe(basename(f, '.json'));
    }
  });

  it('a birth stranded in moving/ (its creator died after the birth record) is published by fsck --repair', async () => {
    const run = await makeObservedRun(root);
    const born = newTicket({ runId: run.ctx.runId, stage: 'parse', input: { id: 'stranded' }, now: run.clock.now(), pipeline: run.ctx.config.pipeline });
    await writeFile(join(run.ctx.paths.moving, `${born.ticket_id}~abcdef012345.new.json`), serializeTicket(born));
    await writeFile(registryPath(run.ctx, 'parse', born.ticket_id), serializeBirthRecord(born));
    const r = await fsckRun(run.ctx, { repair: true, settleMs: 0 });
    expect(r.recovered.map((a) => a.action)).toEqual(['published birth']);
    expect((await readTicketFile(stateFile(run.ctx, 'pending', 'parse', born.ticket_id))).ticket_id).toBe(born.ticket_id);
    await expectFsckOk(run.ctx);
  });
});

describe('a ticket found without a birth record (added by hand, already completed)', () => {
  it('fsck --repair records it as it would have been born: restored later, it is done again, its old output is not', async () => {
    const run = await makeObservedRun(root);
    const done = { ...newTicket({ runId: run.ctx.runId, stage: 'parse', input: { id: 'by-hand' }, now: run.clock.now(), pipeline: run.ctx.config.pipeline }), status: 'completed' as const, output_data: { old: true }, completed_at: run.clock.now().toISOString() };
    await writeFile(stateFile(run.ctx, 'completed', 'parse', done.ticket_id), serializeTicket(done));
    const r = await fsckRun(run.ctx, { repair: true, settleMs: 0 });
    expect(r.problems.find((p) => p.kind === 'unregistered')?.ticket_id).toBe(done.ticket_id);
    const record = await readFile(registryPath(run.ctx, 'parse', done.ticket_id), 'utf8');
    expect(record).not.toContain('"status"');
    expect(parseBirthRecord(record, 'reg')).toMatchObject({ status: 'pending', output_data: null, completed_at: null, input_data: { id: 'by-hand' } });
  });
});

describe('a run whose birth records are in the older form (committed before): everything still works', () => {
  let run: ObservedRun;
  beforeEach(async () => {
    run = await makeObservedRun(root);
    // Rewrite every birth record as older tq wrote them: a copy of the born ticket.
    for (const f of (await filesUnder(run.ctx.paths.dir)).filter((p) => p.startsWith('registry/'))) {
      const path = join(run.ctx.paths.dir, f);
      await writeFile(path, serializeTicket(parseBirthRecord(await readFile(path, 'utf8'), path)));
    }
  });

  it('fsck is clean, status totals come from the registry, lineage reads birth records', async () => {
    await expectFsckOk(run.ctx);
    const status = await runStatus(run.ctx);
    expect(status.totals.all).toBeGreaterThanOrEqual(7);
    // A ticket caught mid-move has only its birth record: lineage still knows its stage and refs.
    const [p2] = [run.parse[2]];
    await rm(stateFile(run.ctx, 'pending', 'parse', p2));
    const lineage = await traceLineage(run.ctx, p2);
    expect(lineage.nodes[p2]).toMatchObject({ stage: 'parse', birth_record: registryPath(run.ctx, 'parse', p2) });
  });

  it('fsck --repair restores a lost ticket from an older birth record', async () => {
    const p2 = run.parse[2];
    await rm(stateFile(run.ctx, 'pending', 'parse', p2));
    const r = await fsckRun(run.ctx, { repair: true, settleMs: 0 });
    expect(r.problems.find((p) => p.kind === 'lost' && p.ticket_id === p2)?.repaired).toMatch(/restored/);
    expect((await readTicketFile(stateFile(run.ctx, 'pending', 'parse', p2))).status).toBe('pending');
    await expectFsckOk(run.ctx);
  });

  it('a second birth of a ticket with an older record is refused (cascade de-duplication)', async () => {
    const p2 = run.parse[2];
    const born = parseBirthRecord(await readFile(registryPath(run.ctx, 'parse', p2), 'utf8'), 'reg');
    expect(await birthTicket(run.ctx, born)).toBe('exists');
    expect(await ls(join(run.ctx.paths.dir, 'pending', 'parse'))).toEqual([`${p2}.json`]);
  });
});
