import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimTicket } from '../../src/core/ops/claim-ticket.js';
import { MAX_AGENT_FILE_BYTES } from '../../src/core/model/file-protocol-schema.js';
import { addItems, makeRun, parseItems, type TestRun } from '../helpers/make-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';
import { expectFsckOk, ls } from '../helpers/ticket-files.js';
import { errorOf, passDaemon, readJson, workerDir, type InProcessDaemon } from './daemon-test-kit.js';

/** A bad file and what its error must say. `settles`: not JSON yet, so answered only after the settle time. */
interface BadCase {
  name: string;
  write: (path: string) => Promise<void>;
  says: RegExp;
  settles?: boolean;
  quarantined?: boolean;
}

const garbage = Buffer.from([0x00, 0xff, 0xfe, 0x13, 0x37, 0x00, 0xc3, 0x28, 0x8f]);

function badCases(outside: string, validOther: string): BadCase[] {
  return [
    { name: 'malformed', write: (p) => writeFile(p, '{"output_data": {"a": 1},, }'), says: /is not valid JSON/, settles: true },
    { name: 'schema', write: (p) => writeFile(p, validOther), says: /field/ },
    { name: 'array', write: (p) => writeFile(p, '[{"output_data": {}}]'), says: /must hold a JSON object .*not an array/ },
    { name: 'number', write: (p) => writeFile(p, '42'), says: /must hold a JSON object .*not a number/ },
    { name: 'too-deep', write: (p) => writeFile(p, `{"output_data": ${'['.repeat(5000)}${']'.repeat(5000)}}`), says: /nested deeper than 100 levels/ },
    { name: 'unknown-field', write: (p) => writeFile(p, '{"ouput_data": {}, "stage": "parse"}'), says: /unknown field "ouput_data"/ },
    { name: 'empty', write: (p) => writeFile(p, ''), says: /is empty/, settles: true },
    { name: 'binary', write: (p) => writeFile(p, garbage), says: /binary data/, settles: true },
    { name: 'oversized', write: (p) => writeFile(p, Buffer.alloc(MAX_AGENT_FILE_BYTES + 1, 0x20)), says: new RegExp(`${MAX_AGENT_FILE_BYTES + 1} bytes, more than the limit`), quarantined: true },
    { name: 'directory', write: (p) => mkdir(p), says: /is a directory, not a regular file/, quarantined: true },
    { name: 'symlink', write: (p) => symlink(outside, p), says: /is a symbolic link, not a regular file .*never follows links/, quarantined: true },
  ];
}

let root: string;
let run: TestRun;
let d: InProcessDaemon;
let outside: string;
beforeEach(async () => {
  root = await makeTempDir();
  run = await makeRun(root);
  d = await passDaemon(root, run.clock);
  // A file outside the run that a symlink points to: it must never be read, moved or written.
  outside = join(root, 'outside-secret.json');
  await writeFile(outside, '{"output_data": {"stolen": true}}');
});
afterEach(async () => {
  await d.daemon.stop();
  await removeDir(root);
});

describe('bad result files', () => {
  it('each gets an error file saying what is wrong; the daemon goes on; no ticket is lost', async () => {
    const cases = badCases(outside, '{"output_data": "a string, not an object"}');
    await addItems(run.ctx, 'parse', parseItems(cases.length + 1));
    const held = new Map<string, string>();
    for (const c of cases) {
      const r = await claimTicket(run.ctx, { stage: 'parse', workerId: 'w', lease: '1h' });
      held.set(c.name, r?.ticket.ticket_id as string);
    }
    const resultPath = (c: BadCase): string => join(workerDir(run.ctx, 'w'), `${held.get(c.name)}.result.json`);
    for (const c of cases) await c.write(resultPath(c));

    await d.daemon.pass();
    const answered = new Set((await ls(workerDir(run.ctx, 'w'))).filter((n) => n.endsWith('.error.json')));
    for (const c of cases) {
      // Unparseable files might still be being written: no answer before the settle time.
      expect(answered.has(`${held.get(c.name)}.error.json`), c.name).toBe(!c.settles);
    }
    run.clock.advance(1000);
    await d.daemon.pass();
    for (const c of cases) {
      const err = await errorOf(run.ctx, 'w', held.get(c.name) as string);
      expect(err.message, c.name).toMatch(c.says);
      expect(err.code, c.name).toMatch(/INVALID_INPUT/);
      const left = await ls(workerDir(run.ctx, 'w'));
      expect(left.includes(`${held.get(c.name)}.result.json`), c.name).toBe(!c.quarantined);
    }
    expect(await readFile(outside, 'utf8')).toBe('{"output_data": {"stolen": true}}');
    expect((await ls(run.ctx.paths.quarantine)).filter((n) => !n.endsWith('.why.json'))).toHaveLength(3);

    // Every agent fixes its file: every ticket is accepted.
    for (const c of cases) {
      const p = resultPath(c);
      if (c.name === 'directory' || c.name === 'symlink' || c.name === 'oversized') await removeDir(p).catch(() => undefined);
      await writeFile(p, JSON.stringify({ output_data: { beats: [c.name] } }));
    }
    await d.daemon.pass();
    expect((await ls(workerDir(run.ctx, 'w'))).filter((n) => !n.endsWith('.error.json'))).toEqual([]);
    expect(await ls(join(run.ctx.paths.dir, 'completed', 'parse'))).toHaveLength(cases.length);
    expect((await ls(workerDir(run.ctx, 'w'))).filter((n) => n.endsWith('.error.json'))).toEqual([]);
    await expectFsckOk(run.ctx);
  });

  it('a half-written result is not answered; once complete, it is accepted', async () => {
    await addItems(run.ctx, 'parse', parseItems(1));
    const r = await claimTicket(run.ctx, { stage: 'parse', workerId: 'w', lease: '1h' });
    const id = r?.ticket.ticket_id as string;
    const full = JSON.stringify({ output_data: { beats: [1, 2, 3] }, usage: { input_tokens: 7 } }, null, 2);
    const path = join(workerDir(run.ctx, 'w'), `${id}.result.json`);
    await writeFile(path, full.slice(0, Math.floor(full.length / 2)));
    await d.daemon.pass();
    run.clock.advance(500); // less than the settle time
    await d.daemon.pass();
    expect(await ls(workerDir(run.ctx, 'w'))).toEqual([`${id}.json`, `${id}.result.json`]);
    await writeFile(path, full);
    await d.daemon.pass();
    expect(await ls(workerDir(run.ctx, 'w'))).toEqual([]);
    expect(await ls(join(run.ctx.paths.dir, 'completed', 'parse'))).toEqual([`${id}.json`]);
    await expectFsckOk(run.ctx);
  });
});

describe('bad request files', () => {
  it('each gets an error reply saying what is wrong and is removed; then a good request is served', async () => {
    const cases = badCases(outside, '{"stage": 7}');
    await addItems(run.ctx, 'parse', parseItems(2));
    const reqPath = (c: BadCase): string => join(run.ctx.paths.requests, `agent-${c.name}~1.json`);
    for (const c of cases) await c.write(reqPath(c));
    // A name that is not a worker id but is safe to answer, and one that is not.
    await writeFile(join(run.ctx.paths.requests, 'agent 7~1.json'), '{"stage": "parse"}');
    await writeFile(join(run.ctx.paths.requests, 'bad\u0001name~1.json'), '{"stage": "parse"}');

    await d.daemon.pass();
    for (const c of cases) {
      expect((await ls(run.ctx.paths.requests)).includes(`agent-${c.name}~1.reply.json`), c.name).toBe(!c.settles);
    }
    run.clock.advance(1000);
    await d.daemon.pass();
    for (const c of cases) {
      const reply = await readJson(join(run.ctx.paths.requests, `agent-${c.name}~1.reply.json`));
      expect(reply.status, c.name).toBe('error');
      expect(String(reply.message), c.name).toMatch(c.says);
      expect(await ls(run.ctx.paths.requests), c.name).not.toContain(`agent-${c.name}~1.json`);
    }
    const spaced = await readJson(join(run.ctx.paths.requests, 'agent 7~1.reply.json'));
    expect(spaced).toMatchObject({ status: 'error', error: { code: 'INVALID_ID' } });
    expect(String(spaced.message)).toContain('invalid worker id');
    expect((await ls(run.ctx.paths.quarantine)).some((n) => n.startsWith('bad\u0001name~1.json~'))).toBe(true);
    expect(await readFile(outside, 'utf8')).toBe('{"output_data": {"stolen": true}}');

    // The daemon is still serving: a good request gets a ticket.
    await writeFile(join(run.ctx.paths.requests, 'agent-ok~ok-1.json'), '{"type": "parse"}');
    await d.daemon.pass();
    expect(await readJson(join(run.ctx.paths.requests, 'agent-ok~ok-1.reply.json'))).toMatchObject({ status: 'claimed', request_id: 'ok-1' });
    expect(await ls(run.ctx.paths.requests)).toEqual([...cases.map((c) => `agent-${c.name}~1.reply.json`), 'README.md', 'agent 7~1.reply.json', 'agent-ok~ok-1.reply.json'].sort());
    await expectFsckOk(run.ctx);
  });

  it('a half-written request is not answered; once complete, it is served', async () => {
    await addItems(run.ctx, 'parse', parseItems(1));
    const path = join(run.ctx.paths.requests, 'agent-1~x.json');
    await writeFile(path, '{"stage": "par');
    await d.daemon.pass();
    expect(await ls(run.ctx.paths.requests)).toEqual(['README.md', 'agent-1~x.json']);
    await writeFile(path, '{"stage": "parse"}');
    await d.daemon.pass();
    expect(await readJson(join(run.ctx.paths.requests, 'agent-1~x.reply.json'))).toMatchObject({ status: 'claimed', request_id: 'x' });
    expect(await ls(run.ctx.paths.requests)).toEqual(['README.md', 'agent-1~x.reply.json']);
  });

  it('answers empty when there is nothing to claim, and an error for an unknown stage', async () => {
    await writeFile(join(run.ctx.paths.requests, 'a~1.json'), '{"stage": "parse"}');
    await writeFile(join(run.ctx.paths.requests, 'b~2.json'), '{"stage": "nosuch"}');
    await d.daemon.pass();
    expect(await readJson(join(run.ctx.paths.requests, 'a~1.reply.json'))).toMatchObject({ status: 'empty', request_id: '1', ticket_id: null, retry_after_ms: expect.any(Number) });
    const b = await readJson(join(run.ctx.paths.requests, 'b~2.reply.json'));
    expect(b).toMatchObject({ status: 'error', request_id: '2', error: { code: 'USAGE' } });
    expect(String(b.message)).toContain('"nosuch" is not a stage');
  });

  it('does not claim twice when a daemon died between its reply and removing the request', async () => {
    await addItems(run.ctx, 'parse', parseItems(2));
    await writeFile(join(run.ctx.paths.requests, 'a~same.json'), '{"stage": "parse"}');
    await d.daemon.pass();
    const first = await readJson(join(run.ctx.paths.requests, 'a~same.reply.json'));
    // As if the request were still there (the daemon died before removing it).
    await writeFile(join(run.ctx.paths.requests, 'a~same.json'), '{"stage": "parse"}');
    await d.daemon.pass();
    expect(await readJson(join(run.ctx.paths.requests, 'a~same.reply.json'))).toEqual(first);
    expect(await ls(workerDir(run.ctx, 'a'))).toHaveLength(1);
    expect(d.actions('request already answered')).toHaveLength(1);
    expect(await ls(run.ctx.paths.requests)).toEqual(['README.md', 'a~same.reply.json']);
  });
});
