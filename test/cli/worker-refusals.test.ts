/**
 * The CLI's answer when a worker submits, heartbeats or releases a ticket it does not hold:
 * NOT_HOLDER (exit 12) for a ticket held by another worker, ALREADY_DONE (exit 13) for a
 * finished one, with the message saying who; the output kept in rejected/.
 */
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/core/model/errors.js';
import { cascadeMarkerPath } from '../../src/core/ops/cascade-ticket.js';
import { openRun } from '../../src/core/store/run-context.js';
import { EXAMPLE_PIPELINE_FILE } from '../helpers/make-run.js';
import { jsonOf, runTq, type Captured } from '../helpers/capture-io.js';
import { useCliTempRoot } from '../helpers/cli-temp-root.js';

const tmp = useCliTempRoot();

const tq = (...argv: string[]): Promise<Captured> => runTq(tmp.root, argv);

function errorOf(r: Captured): { code: string; message: string; data?: { rejected_path?: string } } {
  return (jsonOf(r.stderr) as { error: { code: string; message: string; data?: { rejected_path?: string } } }).error;
}

describe('worker refusals', () => {
  it('NOT_HOLDER (exit 12) for a copy in a second worker directory, ALREADY_DONE (exit 13) once the holder submitted', async () => {
    expect(ERROR_CODES.NOT_HOLDER).toBe(12);
    expect(ERROR_CODES.ALREADY_DONE).toBe(13);
    const input = join(tmp.dir, 'in.jsonl');
    await writeFile(input, '{"id":"0x1","text":"a"}\n');
    expect((await tq('create', 'demo', '--pipeline', EXAMPLE_PIPELINE_FILE, '--input', input)).code).toBe(0);
    const claimed = await tq('claim', 'demo', '--type', 'parse', '--worker', 'w1', '--json');
    const id = (jsonOf(claimed.stdout).ticket as { ticket_id: string }).ticket_id;
    const held = join(tmp.root, 'demo', 'claimed', 'w1', `${id}.json`);
    await mkdir(join(tmp.root, 'demo', 'claimed', 'w2'), { recursive: true });
    await cp(held, join(tmp.root, 'demo', 'claimed', 'w2', `${id}.json`));
    const out = join(tmp.dir, 'out.json');
    await writeFile(out, '{"beats": []}');

    const notHolder = await tq('submit', 'demo', id, '--worker', 'w2', '--output', out, '--json');
    expect(notHolder.code).toBe(12);
    expect(errorOf(notHolder)).toMatchObject({ code: 'NOT_HOLDER' });
    expect(errorOf(notHolder).message).toContain(`ticket ${id} is held by w1, not you (w2)`);
    expect(JSON.parse(await readFile(errorOf(notHolder).data?.rejected_path as string, 'utf8'))).toMatchObject({ output_data: { beats: [] } });
    expect((await tq('heartbeat', 'demo', id, '--worker', 'w2')).code).toBe(12);

    expect((await tq('submit', 'demo', id, '--worker', 'w1', '--output', out)).code).toBe(0);
    const human = await tq('submit', 'demo', id, '--worker', 'w2', '--output', out);
    expect(human.code).toBe(13);
    expect(human.stderr).toMatch(new RegExp(`^tq: ticket ${id} is already completed \\(by w1\\)`));
    expect((await tq('release', 'demo', id, '--worker', 'w2')).code).toBe(13);
    expect((await tq('fsck', 'demo')).code).toBe(0);
  });
});

/** A run of `items` parse tickets (or translate ones), and the output file the tests submit. */
async function createRun(items: string[], stage = 'parse'): Promise<string> {
  const input = join(tmp.dir, 'in.jsonl');
  await writeFile(input, `${items.join('\n')}\n`);
  expect((await tq('create', 'demo', '--pipeline', EXAMPLE_PIPELINE_FILE)).code).toBe(0);
  expect((await tq('add', 'demo', '--type', stage, '--input', input)).code).toBe(0);
  const out = join(tmp.dir, 'out.json');
  await writeFile(out, '{"beats": []}');
  return out;
}

async function claimId(worker: string, stage = 'parse'): Promise<string> {
  const r = await tq('claim', 'demo', '--type', stage, '--worker', worker, '--json');
  expect(r.code, r.stderr).toBe(0);
  return (jsonOf(r.stdout).ticket as { ticket_id: string }).ticket_id;
}

describe('what a refused or repeated submit says', () => {
  it('a ticket another worker holds: who holds it, and no word of a lease this worker never had', async () => {
    const out = await createRun(['{"id":"a"}']);
    const id = await claimId('w1');
    const r = await tq('submit', 'demo', id, '--worker', 'w2', '--output', out);
    expect(r.code).toBe(ERROR_CODES.NOT_HOLDER);
    expect(r.stderr).toMatch(new RegExp(`^tq: ticket ${id} is held by w1, not you \\(w2\\): cannot submit it; your output was kept in `));
    expect(r.stderr).not.toMatch(/\blease\b|expired/);
  });

  it('a ticket this worker held before: its claim was lost', async () => {
    const out = await createRun(['{"id":"a"}']);
    const id = await claimId('w2');
    expect((await tq('release', 'demo', id, '--worker', 'w2')).code).toBe(0);
    expect(await claimId('w1')).toBe(id);
    const r = await tq('submit', 'demo', id, '--worker', 'w2', '--output', out, '--json');
    expect(r.code).toBe(ERROR_CODES.LEASE_LOST);
    expect(errorOf(r).message).toContain(`ticket ${id} is held by w1, not you (w2): your claim on it was lost`);
  });

  it('a completed ticket submitted again with another output: already completed, by you (exit 13)', async () => {
    const out = await createRun(['{"id":"a"}']);
    const id = await claimId('w1');
    expect((await tq('submit', 'demo', id, '--worker', 'w1', '--output', out)).code).toBe(0);
    const other = join(tmp.dir, 'other.json');
    await writeFile(other, '{"beats": [1]}');
    const r = await tq('submit', 'demo', id, '--worker', 'w1', '--output', other);
    expect(r.code).toBe(ERROR_CODES.ALREADY_DONE);
    expect(r.stderr).toMatch(new RegExp(`^tq: ticket ${id} is already completed \\(by you\\): cannot submit it`));
    expect(r.stderr).not.toMatch(/\blease\b|expired/);
  });

  it('children the daemon made first are said to be its doing, not "already existed"', async () => {
    const out = await createRun(['{"id":"a"}']);
    const id = await claimId('w1');
    const first = await tq('submit', 'demo', id, '--worker', 'w1', '--output', out);
    expect(first.stdout).toBe(`submitted ${id} -> completed; children: 1 created\n`);
    // As when the daemon cascades the ticket between submit's move and submit's own cascade:
    // the child exists, the cascade marker does not yet.
    await rm(cascadeMarkerPath(await openRun(tmp.root, 'demo'), id));
    const again = await tq('submit', 'demo', id, '--worker', 'w1', '--output', out);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe(`already submitted ${id} -> completed; children: 1 made by the daemon first\n`);
  });

  it('a keyed child another ticket asked for first is said to be shared', async () => {
    await createRun(['{"text":"a"}', '{"text":"b"}'], 'translate');
    const nouns = join(tmp.dir, 'nouns.json');
    await writeFile(nouns, '{"text": "x", "new_nouns": [{"noun": "Hexagone"}]}');
    const a = await claimId('w1', 'translate');
    expect((await tq('submit', 'demo', a, '--worker', 'w1', '--output', nouns)).stdout).toBe(`submitted ${a} -> completed; children: 1 created\n`);
    const b = await claimId('w1', 'translate');
    expect((await tq('submit', 'demo', b, '--worker', 'w1', '--output', nouns)).stdout).toBe(`submitted ${b} -> completed; children: 1 already there for another ticket (same key)\n`);
  });
});
