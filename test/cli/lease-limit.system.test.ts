/**
 * A lease over the 30d limit, in a pipeline or in a run.json edited by hand (or by an agent),
 * is refused with an error naming the file, the field and the limit. Before the limit, such a
 * lease was accepted at create, and every later claim, reap and fsck crashed with
 * "Invalid time value".
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDistBuilt } from '../helpers/build-dist.js';
import { runBin } from '../helpers/run-bin.js';
import { EXAMPLE_PIPELINE_FILE } from '../helpers/make-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';

const HUGE = '100000000000h';

let dir: string;
let root: string;
beforeAll(async () => {
  await ensureDistBuilt();
  dir = await makeTempDir('tq-lease-');
  root = join(dir, 'runs');
});
afterAll(async () => {
  await removeDir(dir);
});

describe('the lease limit', () => {
  it('create refuses a stage lease over 30d, naming the file and field, and leaves no run', async () => {
    const pipeline = join(dir, 'huge-lease.json');
    await writeFile(pipeline, JSON.stringify({ stages: { parse: { lease: HUGE } } }));
    const r = await runBin(root, ['create', 'huge', '--pipeline', pipeline, '--input', '-'], { stdin: '{"id":"0x1"}\n' });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`tq: ${pipeline}: stages.parse.lease "${HUGE}" is over the 30d limit`);
    expect(r.stderr).not.toMatch(/Invalid time value|unexpected error/);
    expect(existsSync(join(root, 'huge'))).toBe(false);

    const json = await runBin(root, ['create', 'huge', '--pipeline', pipeline, '--json']);
    expect(JSON.parse(json.stderr)).toMatchObject({ error: { code: 'INVALID_PIPELINE', field: 'stages.parse.lease' } });
  });

  it('a run.json edited to a huge lease is refused by claim, reap, fsck and heartbeat with that error', async () => {
    const created = await runBin(root, ['create', 'edited', '--pipeline', EXAMPLE_PIPELINE_FILE, '--input', '-'], { stdin: '{"id":"0x1"}\n{"id":"0x2"}\n' });
    expect(created.code, created.stderr).toBe(0);
    const claim = await runBin(root, ['claim', 'edited', '--type', 'parse', '--worker', 'w1', '--json']);
    expect(claim.code, claim.stderr).toBe(0);
    const held = (JSON.parse(claim.stdout) as { ticket: { ticket_id: string } }).ticket.ticket_id;

    const runJson = join(root, 'edited', 'run.json');
    const config = JSON.parse(await readFile(runJson, 'utf8')) as { pipeline: { stages: Record<string, { lease?: string }> } };
    (config.pipeline.stages.parse as { lease?: string }).lease = HUGE;
    await writeFile(runJson, JSON.stringify(config, null, 2));

    for (const args of [
      ['claim', 'edited', '--type', 'parse', '--worker', 'w2'],
      ['reap', 'edited'],
      ['fsck', 'edited'],
      ['heartbeat', 'edited', held, '--worker', 'w1'],
    ]) {
      const r = await runBin(root, args);
      expect(r.stderr, args.join(' ')).toContain(`stages.parse.lease "${HUGE}" is over the 30d limit`);
      expect(r.stderr).toContain(runJson);
      expect(r.stderr).not.toMatch(/Invalid time value|unexpected error/);
      expect(r.code, args.join(' ')).toBe(2);
    }
  });

  it('--lease over 30d is a usage error, checked before the run is opened', async () => {
    const r = await runBin(root, ['claim', 'no-such-run', '--type', 'parse', '--worker', 'w1', '--lease', '31d', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stderr)).toMatchObject({ error: { code: 'USAGE', field: 'lease', message: 'lease "31d" is over the 30d limit' } });
    const hb = await runBin(root, ['heartbeat', 'no-such-run', 'parse-x', '--worker', 'w1', '--lease', HUGE]);
    expect(hb.code).toBe(2);
    expect(hb.stderr).toContain(`lease "${HUGE}" is over the 30d limit`);
  });

  it('--help states the limit', async () => {
    const r = await runBin(root, ['claim', '--help']);
    expect(r.stdout).toMatch(/--lease .*at most 30d/);
  });
});
