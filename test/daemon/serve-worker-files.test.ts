import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimTicket } from '../../src/core/ops/claim-ticket.js';
import { childTicketId } from '../../src/core/model/ids.js';
import { addItems, makeRun, parseItems, type TestRun } from '../helpers/make-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';
import { expectFsckOk, ls, readTicketFile, stateFile } from '../helpers/ticket-files.js';
import { errorOf, passDaemon, workerDir, type InProcessDaemon } from './daemon-test-kit.js';
import { agentFileName, errorFileName, parseAgentFileName } from '../../src/core/store/run-names.js';

let root: string;
let run: TestRun;
let d: InProcessDaemon;
let ids: string[];
beforeEach(async () => {
  root = await makeTempDir();
  run = await makeRun(root);
  ids = await addItems(run.ctx, 'parse', parseItems(2));
  d = await passDaemon(root, run.clock);
});
afterEach(async () => {
  await d.daemon.stop();
  await removeDir(root);
});

async function claim(worker = 'w1', lease = '1h'): Promise<string> {
  const r = await claimTicket(run.ctx, { stage: 'parse', workerId: worker, lease });
  if (!r) throw new Error('nothing to claim');
  return r.ticket.ticket_id;
}

/** Every test runs with the names agents write now (`<id>~<tag>.<kind>.json`) and with the deprecated untagged ones. */
let tag: string | undefined;
type Kind = 'result' | 'heartbeat' | 'release';

/** The agent file's name: `<id>~7.<kind>.json`, or `<id>.<kind>.json` untagged. */
function name(id: string, kind: Kind): string {
  return agentFileName(id, kind, tag);
}

/** What the error answering that file is named after (`<id>~7.<kind>` or `<id>`). */
function eb(id: string, kind: Kind): string {
  return parseAgentFileName(name(id, kind))?.errorBase as string;
}

function agentFile(worker: string, id: string, kind: Kind | 'error'): string {
  return join(workerDir(run.ctx, worker), kind === 'error' ? errorFileName(eb(id, 'result')) : name(id, kind));
}

for (const withTag of ['7', undefined]) {
  describe(withTag ? 'tagged names (<id>~<tag>.<kind>.json)' : 'deprecated untagged names (<id>.<kind>.json)', () => {
    beforeEach(() => {
      tag = withTag;
    });

    describe('result files', () => {
      it('submits a valid result: the ticket completes, cascades, and the result file goes', async () => {
        const id = await claim();
        await writeFile(agentFile('w1', id, 'result'), JSON.stringify({ output_data: { beats: [1] }, concerns: [{ level: 'review', message: 'odd', suggestion: 'look' }], usage: { input_tokens: 5 } }));
        await d.daemon.pass();
        const t = await readTicketFile(stateFile(run.ctx, 'completed', 'parse', id));
        expect(t.output_data).toEqual({ beats: [1] });
        expect(t.worker_concerns[0]).toMatchObject({ level: 'review', message: 'odd', worker_id: 'w1' });
        expect(t.usage).toEqual({ input_tokens: 5 });
        expect(await ls(workerDir(run.ctx, 'w1'))).toEqual([]);
        expect(await ls(join(run.ctx.paths.dir, 'pending', 'translate'))).toEqual([`${childTicketId({ to: 'translate', parentId: id })}.json`]);
        expect(d.actions('submitted')).toHaveLength(1);
        await expectFsckOk(run.ctx);
      });

      it('honours status needs_review', async () => {
        const id = await claim();
        await writeFile(agentFile('w1', id, 'result'), JSON.stringify({ output_data: { beats: [] }, status: 'needs_review' }));
        await d.daemon.pass();
        expect(await ls(join(run.ctx.paths.dir, 'needs_review', 'parse'))).toEqual([`${id}.json`]);
        await expectFsckOk(run.ctx);
      });

      it('answers a schema violation at once, once per version, and accepts the fixed version', async () => {
        const id = await claim();
        await writeFile(agentFile('w1', id, 'result'), JSON.stringify({ output_data: { beats: 'not an array' }, status: 'done' }));
        await d.daemon.pass();
        const err = await errorOf(run.ctx, 'w1', eb(id, 'result'));
        expect(err).toMatchObject({ code: 'INVALID_INPUT', field: 'status' });
        expect(err.message).toContain(`claimed/w1/${name(id, 'result')}`);
        // The same version is not answered again...
        await rm(agentFile('w1', id, 'error'));
        await d.daemon.pass();
        expect(await ls(workerDir(run.ctx, 'w1'))).toEqual([`${id}.json`, name(id, 'result')].sort());
        // ...a new version is.
        await writeFile(agentFile('w1', id, 'result'), JSON.stringify({ output_data: { beats: [3] } }));
        await d.daemon.pass();
        expect(await ls(workerDir(run.ctx, 'w1'))).toEqual([]);
        expect((await readTicketFile(stateFile(run.ctx, 'completed', 'parse', id))).output_data).toEqual({ beats: [3] });
        await expectFsckOk(run.ctx);
      });

      it('after a lost lease: error file, result removed, output kept in rejected/', async () => {
        const id = await claim('w1', '1m');
        run.clock.advance(120_000);
        await d.daemon.pass(); // the reaper returns it to pending
        await writeFile(agentFile('w1', id, 'result'), JSON.stringify({ output_data: { beats: [9] } }));
        await d.daemon.pass();
        expect((await errorOf(run.ctx, 'w1', eb(id, 'result'))).code).toBe('LEASE_LOST');
        expect(await ls(workerDir(run.ctx, 'w1'))).toEqual([errorFileName(eb(id, 'result'))]);
        const kept = (await ls(run.ctx.paths.rejected)).filter((n) => n.startsWith(`${id}~`));
        expect(kept).toHaveLength(1);
        expect(await ls(join(run.ctx.paths.dir, 'pending', 'parse'))).toContain(`${id}.json`);
        await expectFsckOk(run.ctx);
      });

      it('keeps a result filed under an unknown ticket id and says so', async () => {
        await claim();
        await writeFile(agentFile('w1', 'parse-nosuchticket', 'result'), JSON.stringify({ output_data: {} }));
        await d.daemon.pass();
        expect((await errorOf(run.ctx, 'w1', eb('parse-nosuchticket', 'result'))).code).toBe('NOT_FOUND');
        expect(await ls(workerDir(run.ctx, 'w1'))).toContain(name('parse-nosuchticket', 'result'));
        await expectFsckOk(run.ctx);
      });

      it('refuses a ticket id that is not a valid id', async () => {
        await claim();
        await writeFile(agentFile('w1', 'no dash here', 'result'), JSON.stringify({ output_data: {} }));
        await d.daemon.pass();
        const err = await errorOf(run.ctx, 'w1', eb('no dash here', 'result'));
        expect(err.code).toBe('INVALID_ID');
        expect(err.message).toContain('invalid ticket id');
      });
    });

    describe('heartbeat and release files', () => {
      it('a heartbeat extends the lease from now and is removed', async () => {
        const id = await claim('w1', '10m');
        run.clock.advance(5 * 60_000);
        await writeFile(agentFile('w1', id, 'heartbeat'), '{}');
        await d.daemon.pass();
        let t = await readTicketFile(join(workerDir(run.ctx, 'w1'), `${id}.json`));
        expect(t.claim?.lease_expires_at).toBe('2030-01-01T00:15:00.000Z'); // now (00:05) + parse lease 10m
        await writeFile(agentFile('w1', id, 'heartbeat'), '{"lease": "1h"}');
        await d.daemon.pass();
        t = await readTicketFile(join(workerDir(run.ctx, 'w1'), `${id}.json`));
        expect(t.claim?.lease_expires_at).toBe('2030-01-01T01:05:00.000Z');
        expect(await ls(workerDir(run.ctx, 'w1'))).toEqual([`${id}.json`]);
        expect(d.actions('heartbeat')).toHaveLength(2);
      });

      it('a heartbeat with a bad lease, or for a ticket not held, gets an error file', async () => {
        const id = await claim();
        await writeFile(agentFile('w1', id, 'heartbeat'), '{"lease": "forever"}');
        await d.daemon.pass();
        expect(await errorOf(run.ctx, 'w1', eb(id, 'heartbeat'))).toMatchObject({ code: 'USAGE', field: 'lease' });
        await writeFile(agentFile('w1', ids.find((i) => i !== id) as string, 'heartbeat'), '{}');
        await d.daemon.pass();
        expect((await errorOf(run.ctx, 'w1', eb(ids.find((i) => i !== id) as string, 'heartbeat'))).code).toBe('LEASE_LOST');
        expect((await ls(workerDir(run.ctx, 'w1'))).filter((n) => n.endsWith('.heartbeat.json'))).toEqual([]);
        await expectFsckOk(run.ctx);
      });

      it('a release puts the ticket back in pending/ with its attempts unchanged', async () => {
        const id = await claim();
        await writeFile(agentFile('w1', id, 'release'), '{"reason": "too hard"}');
        await d.daemon.pass();
        const t = await readTicketFile(stateFile(run.ctx, 'pending', 'parse', id));
        expect(t.attempts).toBe(0);
        expect(t.history.at(-1)).toMatchObject({ event: 'released', note: 'too hard' });
        expect(await ls(workerDir(run.ctx, 'w1'))).toEqual([]);
        await expectFsckOk(run.ctx);
      });

      it('a .taken file a crashed daemon left is put back and handled', async () => {
        const id = await claim();
        // What a daemon that died right after taking the heartbeat file leaves behind.
        await writeFile(join(workerDir(run.ctx, 'w1'), `.${name(id, 'heartbeat')}.0123456789ab.taken`), '{"lease": "2h"}');
        await d.daemon.pass();
        run.clock.advance(5000);
        await d.daemon.pass(); // put back
        await d.daemon.pass(); // handled
        expect(d.actions('restored taken file')).toHaveLength(1);
        expect((await readTicketFile(join(workerDir(run.ctx, 'w1'), `${id}.json`))).claim?.lease_expires_at).toBe('2030-01-01T02:00:05.000Z');
        expect(await ls(workerDir(run.ctx, 'w1'))).toEqual([`${id}.json`]);
      });
    });
  });
}
