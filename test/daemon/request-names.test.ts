/**
 * Issue 15, item 3: requests and replies have unique names (`requests/<worker>~<request-id>.json`
 * answered in `<worker>~<request-id>.reply.json`), so neither side ever re-creates a name the
 * other deleted; the old names are answered for one more release, with a `deprecated` note.
 * Replies the agent leaves are removed 10 minutes after the `at` written in them (never by mtime).
 * A request taken by a daemon that stopped after claiming and before replying is answered with
 * that same claim (recover-request.ts).
 */
import { readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimTicket } from '../../src/core/ops/claim-ticket.js';
import { takenFileName } from '../../src/core/store/run-names.js';
import { addItems, makeRun, parseItems, type TestRun } from '../helpers/make-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';
import { expectFsckOk, ls, stateFile } from '../helpers/ticket-files.js';
import { passDaemon, readJson, workerDir, type InProcessDaemon } from './daemon-test-kit.js';

const SETTLE = { settle: { fileMs: 0, movingMs: 0, takenMs: 5000, tmpMs: 60_000 } };

let root: string;
let run: TestRun;
let d: InProcessDaemon;
let ids: string[];
beforeEach(async () => {
  root = await makeTempDir();
  run = await makeRun(root);
  ids = await addItems(run.ctx, 'parse', parseItems(3));
  d = await passDaemon(root, run.clock, SETTLE);
});
afterEach(async () => {
  await d.daemon.stop();
  await removeDir(root);
});

const req = (name: string): string => join(run.ctx.paths.requests, name);

describe('unique request and reply names', () => {
  it('serves <worker>~<request-id>.json in <worker>~<request-id>.reply.json, with a tagged result path; the result completes the ticket', async () => {
    await writeFile(req('agent-1~r1.json'), '{"stage": "parse"}');
    await d.daemon.pass();
    const reply = await readJson(req('agent-1~r1.reply.json'));
    const id = reply.ticket_id as string;
    expect(reply).toMatchObject({ request_id: 'r1', status: 'claimed', ticket_path: `claimed/agent-1/${id}.json`, result_path: `claimed/agent-1/${id}~r1.result.json` });
    expect(reply.deprecated).toBeUndefined();
    expect(await ls(run.ctx.paths.requests)).toEqual(['README.md', 'agent-1~r1.reply.json']);
    await writeFile(join(run.ctx.paths.dir, reply.result_path as string), '{"output_data": {"beats": [1]}}');
    await d.daemon.pass();
    expect(await ls(workerDir(run.ctx, 'agent-1'))).toEqual([]);
    expect(JSON.parse(await readFile(stateFile(run.ctx, 'completed', 'parse', id), 'utf8'))).toMatchObject({ status: 'completed', output_data: { beats: [1] } });
    await expectFsckOk(run.ctx);
  });

  it('still serves the old name <worker>.json in <worker>.reply.json, with a deprecated note naming the new one', async () => {
    await writeFile(req('agent-2.json'), '{"stage": "parse", "request_id": "old-1"}');
    await d.daemon.pass();
    const reply = await readJson(req('agent-2.reply.json'));
    const id = reply.ticket_id as string;
    expect(reply).toMatchObject({ request_id: 'old-1', status: 'claimed', result_path: `claimed/agent-2/${id}.result.json` });
    expect(reply.deprecated).toContain('requests/agent-2~<request-id>.json');
    expect(reply.deprecated).toContain('requests/agent-2~<request-id>.reply.json');
    expect(await ls(run.ctx.paths.requests)).toEqual(['README.md', 'agent-2.reply.json']);
    // The deprecated result name is served too.
    await writeFile(join(run.ctx.paths.dir, reply.result_path as string), '{"output_data": {"beats": []}}');
    await d.daemon.pass();
    expect(await ls(workerDir(run.ctx, 'agent-2'))).toEqual([]);
  });

  it('a request and its reply never share a name with an earlier request of the same worker: a deleted reply is not re-created', async () => {
    const seen: string[] = [];
    for (const rid of ['1', '2', '3']) {
      await writeFile(req(`agent-3~${rid}.json`), '{"stage": "parse"}');
      await d.daemon.pass();
      const names = (await ls(run.ctx.paths.requests)).filter((n) => n !== 'README.md');
      // Only this request's reply is there: the earlier replies, deleted by the agent, stay deleted.
      expect(names).toEqual([`agent-3~${rid}.reply.json`]);
      expect((await readJson(req(names[0] as string))).request_id).toBe(rid);
      seen.push(`agent-3~${rid}.json`, ...names);
      await rm(req(names[0] as string));
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect((await ls(workerDir(run.ctx, 'agent-3'))).sort()).toEqual(ids.map((i) => `${i}.json`).sort());
  });

  it('refuses a request id that is not an id, and a request_id inside that differs from the name', async () => {
    await writeFile(req('agent-4~bad..id.json'), '{"stage": "parse"}');
    await writeFile(req('agent-4~r2.json'), '{"stage": "parse", "request_id": "r3"}');
    await d.daemon.pass();
    expect(await readJson(req('agent-4~bad..id.reply.json'))).toMatchObject({ status: 'error', error: { code: 'INVALID_ID', field: 'request id' } });
    expect(await readJson(req('agent-4~r2.reply.json'))).toMatchObject({ status: 'error', request_id: 'r2', error: { code: 'INVALID_INPUT', field: 'request_id' } });
    expect(await ls(join(run.ctx.paths.dir, 'claimed'))).toEqual([]);
  });

  it('removes a reply the agent left once its `at` is 10 minutes old, judged by the `at` and not the mtime', async () => {
    await writeFile(req('agent-5~1.json'), '{"stage": "parse"}');
    await d.daemon.pass();
    run.clock.advance(5 * 60_000);
    await writeFile(req('agent-5~2.json'), '{"stage": "parse"}');
    await d.daemon.pass();
    // An old mtime does not make a reply old.
    const longAgo = new Date('2001-01-01T00:00:00Z');
    await utimes(req('agent-5~2.reply.json'), longAgo, longAgo);
    run.clock.advance(6 * 60_000);
    await d.daemon.pass();
    expect(await ls(run.ctx.paths.requests)).toEqual(['README.md', 'agent-5~2.reply.json']);
    expect(d.actions('reply removed')).toHaveLength(1);
    run.clock.advance(5 * 60_000);
    await d.daemon.pass();
    expect(await ls(run.ctx.paths.requests)).toEqual(['README.md']);
  });
});

describe('a daemon stopped between claiming for a request and replying', () => {
  /** What that daemon leaves: the request taken (stamped with the time of the take) and, maybe, a claim. */
  async function takenRequest(name: string, body: string, atMs: number): Promise<string> {
    const taken = takenFileName(name, '0123456789abcdef', atMs);
    await writeFile(req(taken), body);
    return taken;
  }

  it('the next daemon replies with that same claim: the request is answered once and no ticket is claimed twice', async () => {
    const takenAt = run.clock.now().getTime();
    const taken = await takenRequest('agent-6~r1.json', '{"stage": "parse"}', takenAt);
    const claimed = await claimTicket(run.ctx, { stage: 'parse', workerId: 'agent-6' });
    await d.daemon.pass();
    run.clock.advance(5000);
    await d.daemon.pass();
    const reply = await readJson(req('agent-6~r1.reply.json'));
    expect(reply).toMatchObject({ request_id: 'r1', status: 'claimed', ticket_id: claimed?.ticket.ticket_id, result_path: `claimed/agent-6/${claimed?.ticket.ticket_id}~r1.result.json` });
    expect(d.actions('claim recovered')).toHaveLength(1);
    expect(await ls(run.ctx.paths.requests)).toEqual(['README.md', 'agent-6~r1.reply.json']);
    expect(await ls(workerDir(run.ctx, 'agent-6'))).toEqual([`${claimed?.ticket.ticket_id}.json`]);
    await d.daemon.pass();
    expect(d.actions('claimed')).toHaveLength(0);
    expect(taken).toMatch(/\.at-[0-9a-f]+\.taken$/);
  });

  it('a claim older than the take, or one a reply already names, is not taken for it: the request is put back and served anew', async () => {
    const before = await claimTicket(run.ctx, { stage: 'parse', workerId: 'agent-7' });
    run.clock.advance(1000);
    await writeFile(req('agent-7~r0.reply.json'), JSON.stringify({ request_id: 'r0', status: 'claimed', ticket_id: 'parse-named', at: run.clock.now().toISOString() }));
    await takenRequest('agent-7~r1.json', '{"stage": "parse"}', run.clock.now().getTime());
    await d.daemon.pass();
    run.clock.advance(5000);
    await d.daemon.pass(); // put back
    await d.daemon.pass(); // served
    expect(d.actions('claim recovered')).toHaveLength(0);
    expect(d.actions('restored taken file')).toHaveLength(1);
    const reply = await readJson(req('agent-7~r1.reply.json'));
    expect(reply).toMatchObject({ request_id: 'r1', status: 'claimed' });
    expect(reply.ticket_id).not.toBe(before?.ticket.ticket_id);
    expect(await ls(workerDir(run.ctx, 'agent-7'))).toHaveLength(2);
  });
});
