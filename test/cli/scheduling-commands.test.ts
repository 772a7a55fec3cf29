/**
 * `tq add --priority/--delay`, `tq pause`/`tq resume` (claims exit 15, PAUSED), `tq fail`, and what
 * `tq status` says about them: in-process, through main().
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/core/model/errors.js';
import { EXAMPLE_PIPELINE_FILE } from '../helpers/make-run.js';
import { jsonOf, runTq, type Captured } from '../helpers/capture-io.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';
import { ls } from '../helpers/ticket-files.js';

let dir: string;
let root: string;
let savedDurability: string | undefined;
beforeAll(() => {
  savedDurability = process.env.TQ_DURABILITY;
  process.env.TQ_DURABILITY = 'none';
});
afterAll(() => {
  if (savedDurability === undefined) delete process.env.TQ_DURABILITY;
  else process.env.TQ_DURABILITY = savedDurability;
});
beforeEach(async () => {
  dir = await makeTempDir();
  root = join(dir, 'runs');
  await writeFile(join(dir, 'low.jsonl'), '{"id":"a"}\n{"id":"b"}\n');
  await writeFile(join(dir, 'high.jsonl'), '{"id":"h"}\n');
  await writeFile(join(dir, 'later.jsonl'), '{"id":"l"}\n');
  await writeFile(join(dir, 'low2.jsonl'), '{"id":"x"}\n');
  expect((await tq('create', 'demo', '--pipeline', EXAMPLE_PIPELINE_FILE, '--input', join(dir, 'low.jsonl'))).code).toBe(0);
});
afterEach(async () => {
  await removeDir(dir);
});

const tq = (...argv: string[]): Promise<Captured> => runTq(root, argv);

async function claimJson(worker: string): Promise<{ code: number; id?: string; token?: string; error?: { code: string; message: string } }> {
  const r = await tq('claim', 'demo', '--type', 'parse', '--worker', worker, '--json');
  if (r.code !== 0) return { code: r.code, error: (jsonOf(r.stderr) as { error: { code: string; message: string } }).error };
  const t = jsonOf(r.stdout).ticket as { ticket_id: string; claim: { token: string } };
  return { code: 0, id: t.ticket_id, token: t.claim.token };
}

describe('scheduling from the command line', () => {
  it('add --priority puts tickets ahead; add --delay holds them back (status counts them)', async () => {
    const high = await tq('add', 'demo', '--type', 'parse', '--input', join(dir, 'high.jsonl'), '--priority', '3', '--json');
    expect(high.code, high.stderr).toBe(0);
    const highId = (jsonOf(high.stdout).ticket_ids as string[])[0];
    const later = await tq('add', 'demo', '--type', 'parse', '--input', join(dir, 'later.jsonl'), '--delay', '1h');
    expect(later.code, later.stderr).toBe(0);
    expect(await ls(join(root, 'demo', 'pending', 'parse', 'lanes'))).toEqual([expect.stringMatching(/^p0\.due-\d{8}T\d{6}Z$/), 'p3']);
    const status = await tq('status', 'demo');
    expect(status.stdout).toMatch(/^parse +4 +0 +0 +0 +0 +0\/4$/m);
    expect(status.stdout).toContain('not claimable yet (delayed or backing off, counted in PENDING): parse 1');
    expect((await claimJson('w1')).id).toBe(highId);
    expect((await claimJson('w2')).code).toBe(0);
    expect((await claimJson('w3')).code).toBe(0);
    expect((await claimJson('w4')).code).toBe(ERROR_CODES.NOTHING_CLAIMABLE);
  });

  it('bad --priority and --delay are usage errors (exit 2) before anything is added', async () => {
    for (const args of [['--priority', '1.5'], ['--priority', '5000'], ['--delay', 'soon'], ['--delay', '31d']]) {
      const r = await tq('add', 'demo', '--type', 'parse', '--input', join(dir, 'high.jsonl'), ...args);
      expect(r.code, args.join(' ')).toBe(2);
    }
    expect((await tq('add', 'demo', '--type', 'parse', '--input', join(dir, 'low2.jsonl'), '--priority=-2')).code).toBe(0);
    expect((await jsonOf((await tq('status', 'demo', '--json')).stdout)).totals).toMatchObject({ pending: 3 });
  });

  it('pause: claims exit 15 (PAUSED) and status says so; resume: claims go on', async () => {
    const p = await tq('pause', 'demo', '--stage', 'parse', '--reason', 'quota');
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toContain('paused stage parse of demo');
    const c = await claimJson('w1');
    expect(c.code).toBe(15);
    expect(ERROR_CODES.PAUSED).toBe(15);
    expect(c.error).toMatchObject({ code: 'PAUSED', message: expect.stringContaining('stage parse of run demo is paused') });
    expect((await tq('status', 'demo')).stdout).toContain('PAUSED: stage parse');
    const r = await tq('resume', 'demo', '--stage', 'parse');
    expect(r.stdout).toMatch(/^resumed \(removed .*paused\/parse\.json\)/);
    expect((await claimJson('w1')).code).toBe(0);
    expect((await tq('pause', 'demo', '--json')).code).toBe(0);
    expect((await claimJson('w2')).code).toBe(15);
    expect((await tq('resume', 'demo', '--stage', 'parse')).stdout).toContain('still paused by the pause of the whole run');
    expect((await tq('resume', 'demo')).code).toBe(0);
    expect((await claimJson('w2')).code).toBe(0);
  });

  it('fail: back to pending with the error kept; refused for another worker (exit 12); failed/ after max_attempts', async () => {
    const c = await claimJson('w1');
    const other = await tq('fail', 'demo', c.id as string, '--worker', 'w2', '--error', 'x');
    expect(other.code).toBe(ERROR_CODES.NOT_HOLDER);
    const f = await tq('fail', 'demo', c.id as string, '--worker', 'w1', '--token', c.token as string, '--error', 'exit 1', '--stderr-tail', 'Traceback: boom', '--json');
    expect(f.code, f.stderr).toBe(0);
    expect(jsonOf(f.stdout)).toMatchObject({ outcome: 'retrying', attempts: 1, ticket: { attempt_errors: [{ attempt: 1, worker_id: 'w1', error: 'exit 1', stderr_tail: 'Traceback: boom' }] } });
    // parse has max_attempts 3 and no retry policy: retried at once, in pending/parse/ itself.
    let last: Captured | undefined;
    for (let i = 2; i <= 3; i += 1) {
      let id: string | undefined;
      do id = (await claimJson(`w${i}`)).id;
      while (id !== c.id && id !== undefined);
      last = await tq('fail', 'demo', c.id as string, '--worker', `w${i}`, '--error', `exit ${i}`);
    }
    expect(last?.code).toBe(0);
    expect(last?.stdout).toMatch(/failed for good after 3 attempts/);
    expect(await ls(join(root, 'demo', 'failed', 'parse'))).toEqual([`${c.id}.json`]);
    expect((await tq('fsck', 'demo')).code).toBe(0);
  });
});
