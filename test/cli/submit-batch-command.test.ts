/**
 * `tq submit-batch RUN FILE --worker W`: one JSON object per line, each submitted fenced on its
 * own; exit 0 when all went through, else the exit code of the first refusal; --json gives one
 * result per line. A malformed file submits nothing.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TqError } from '../../src/core/model/errors.js';
import { EXAMPLE_PIPELINE_FILE } from '../helpers/make-run.js';
import { jsonOf, runTq, type Captured } from '../helpers/capture-io.js';
import { useCliTempRoot } from '../helpers/cli-temp-root.js';
import { ls } from '../helpers/ticket-files.js';

const tmp = useCliTempRoot();
const tq = (...argv: string[]): Promise<Captured> => runTq(tmp.root, argv);

/** A run with three parse tickets claimed by w1; returns their ids. */
async function threeClaimed(): Promise<string[]> {
  const items = join(tmp.dir, 'items.jsonl');
  await writeFile(items, [0, 1, 2].map((i) => JSON.stringify({ id: `0x${i}`, text: `line ${i}` })).join('\n'));
  expect((await tq('create', 'demo', '--pipeline', EXAMPLE_PIPELINE_FILE, '--input', items)).code).toBe(0);
  const r = await tq('claim', 'demo', '--type', 'parse', '--worker', 'w1', '--max', '3', '--json');
  expect(r.code, r.stderr).toBe(0);
  return (jsonOf(r.stdout).claimed as { ticket: { ticket_id: string } }[]).map((c) => c.ticket.ticket_id);
}

async function batchFile(lines: unknown[]): Promise<string> {
  const file = join(tmp.dir, 'batch.jsonl');
  await writeFile(file, lines.map((l) => JSON.stringify(l)).join('\n'));
  return file;
}

describe('tq submit-batch', () => {
  it('submits every line; a lost lease refuses its line only and sets the exit code (that of LEASE_LOST)', async () => {
    const [a, b, c] = (await threeClaimed()) as [string, string, string];
    expect((await tq('release', 'demo', b, '--worker', 'w1')).code).toBe(0);
    const file = await batchFile([a, b, c].map((id) => ({ ticket_id: id, output_data: { text: id }, worker_concerns: [{ level: 'info', message: 'ok' }] })));
    const r = await tq('submit-batch', 'demo', file, '--worker', 'w1', '--json');
    const results = jsonOf(r.stdout).results as { ticket_id: string; ok: boolean; error?: { code: string }; ticket?: { status: string } }[];
    expect(results.map((x) => [x.ticket_id, x.ok])).toEqual([
      [a, true],
      [b, false],
      [c, true],
    ]);
    expect(results[1]?.error?.code).toBe('LEASE_LOST');
    expect(results[0]?.ticket?.status).toBe('completed');
    expect(r.code).toBe(new TqError('LEASE_LOST', '').exitCode);
    expect((await ls(join(tmp.root, 'demo', 'completed', 'parse'))).sort()).toEqual([`${a}.json`, `${c}.json`].sort());
    expect(await ls(join(tmp.root, 'demo', 'rejected'))).not.toEqual([]);
  });

  it('exits 0 when every line went through, text output one line per submission', async () => {
    const ids = await threeClaimed();
    const file = await batchFile(ids.map((id) => ({ ticket_id: id, output_data: { text: id }, status: 'needs_review' })));
    const r = await tq('submit-batch', 'demo', file, '--worker', 'w1');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(ids.map((id) => `submitted ${id} -> needs_review`));
  });

  it('a malformed line submits nothing and names the line and the field', async () => {
    const [a, b] = (await threeClaimed()) as [string, string];
    const file = await batchFile([{ ticket_id: a, output_data: {} }, { ticket_id: b, output: {} }]);
    const r = await tq('submit-batch', 'demo', file, '--worker', 'w1');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`${file}:2`);
    expect(r.stderr).toContain('output');
    expect(await ls(join(tmp.root, 'demo', 'claimed', 'w1'))).toHaveLength(3);
  });
});
