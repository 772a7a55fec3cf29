import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDistBuilt } from '../helpers/build-dist.js';
import { runBin } from '../helpers/run-bin.js';
import { EXAMPLE_PIPELINE_FILE } from '../helpers/make-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';

let dir: string;
let root: string;
beforeAll(async () => {
  await ensureDistBuilt();
  dir = await makeTempDir();
  root = join(dir, 'runs');
});
afterAll(async () => {
  await removeDir(dir);
});

describe('the real bin (node bin/tq.js)', () => {
  it('runs a ticket from create to completion with real exit codes', async () => {
    const created = await runBin(root, ['create', 'demo', '--pipeline', EXAMPLE_PIPELINE_FILE, '--input', '-', '--json'], { stdin: '{"id":"0x1","text":"Bonjour"}\n' });
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ run_id: 'demo', added: { created: 1, stage: 'parse' } });

    const claim = await runBin(root, ['claim', 'demo', '--type', 'parse', '--worker', 'w1', '--json']);
    expect(claim.code, claim.stderr).toBe(0);
    const ticket = (JSON.parse(claim.stdout) as { ticket: { ticket_id: string; claim: { token: string } } }).ticket;

    const empty = await runBin(root, ['claim', 'demo', '--type', 'parse', '--worker', 'w1']);
    expect(empty.code).toBe(3);
    expect(empty.stderr).toMatch(/^tq: nothing to claim/);

    const sub = await runBin(root, ['submit', 'demo', ticket.ticket_id, '--worker', 'w1', '--token', ticket.claim.token], { stdin: '{"text":"Hello"}' });
    expect(sub.code, sub.stderr).toBe(0);
    expect(sub.stdout).toMatch(/submitted .* -> completed; children: 1 created/);

    const late = await runBin(root, ['submit', 'demo', ticket.ticket_id, '--worker', 'w2', '--json'], { stdin: '{"text":"late"}' });
    // A second submit of a finished ticket by another worker: refused, the first result stands.
    expect(late.code).toBe(13);
    expect(JSON.parse(late.stderr)).toMatchObject({ error: { code: 'ALREADY_DONE', message: expect.stringContaining('already completed (by w1)') } });

    const status = await runBin(root, ['status', 'demo', '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ totals: { all: 2, completed: 1, pending: 1 } });

    const fsck = await runBin(root, ['fsck', 'demo']);
    expect(fsck.code, fsck.stdout).toBe(0);
  });

  it('usage errors exit 2 and not-found exits 4, with messages on stderr', async () => {
    const usage = await runBin(root, ['claim']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^tq: /);
    const missing = await runBin(root, ['status', 'no-such-run']);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(/no run "no-such-run"/);
    const bad = join(dir, 'bad.json');
    await writeFile(bad, '{"stages": {}}');
    expect((await runBin(root, ['create', 'x', '--pipeline', bad])).code).toBe(2);
  });
});
