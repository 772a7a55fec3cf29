/**
 * The real bin stops at a usage error before it does anything (the in-process check for every
 * command is usage-stops-early.test.ts): the two lines from the report, a claim with
 * `--lease -5m` and a submit with a typo, exit 2 and leave every file as it was.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDistBuilt } from '../helpers/build-dist.js';
import { runBin } from '../helpers/run-bin.js';
import { EXAMPLE_PIPELINE_FILE } from '../helpers/make-run.js';
import { hashTree } from '../helpers/run-invariants.js';
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

describe('the real bin refuses a malformed line before doing anything', () => {
  it('claim --lease -5m and submit --typo exit 2; no ticket moves', async () => {
    expect((await runBin(root, ['create', 'demo', '--pipeline', EXAMPLE_PIPELINE_FILE, '--input', '-'], { stdin: '{"id":"a"}\n{"id":"b"}\n' })).code).toBe(0);
    const claim = await runBin(root, ['claim', 'demo', '--type', 'parse', '--worker', 'w1', '--json']);
    expect(claim.code, claim.stderr).toBe(0);
    const id = (JSON.parse(claim.stdout) as { ticket: { ticket_id: string } }).ticket.ticket_id;
    const out = join(dir, 'out.json');
    await writeFile(out, '{"text":"x"}');
    const before = await hashTree(dir);

    const lease = await runBin(root, ['claim', 'demo', '--type', 'parse', '--worker', 'w2', '--lease', '-5m']);
    expect(lease.code).toBe(2);
    expect(lease.stdout).toBe('');
    expect(lease.stderr).toBe('tq: --lease needs a value, but the next word is "-5m"\n  hint: to pass a value that starts with "-", write --lease=-5m\n');
    const typo = await runBin(root, ['submit', 'demo', id, '--worker', 'w1', '--output', out, '--typo', '1']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/^tq: unknown option --typo\n {2}hint: usage: tq submit <run> <ticket> --worker <id> \[options\]/);
    expect(await hashTree(dir)).toBe(before);

    // The same submit without the typo goes through (so the refusal above was the typo's doing).
    const ok = await runBin(root, ['submit', 'demo', id, '--worker', 'w1', '--output', out]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(await hashTree(dir)).not.toBe(before);
  });
});
