/**
 * The CLI's answer when a worker submits, heartbeats or releases a ticket it does not hold:
 * NOT_HOLDER (exit 12) for a ticket held by another worker, ALREADY_DONE (exit 13) for a
 * finished one, with the message saying who; the output kept in rejected/.
 */
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/core/model/errors.js';
import { EXAMPLE_PIPELINE_FILE } from '../helpers/make-run.js';
import { jsonOf, runTq, type Captured } from '../helpers/capture-io.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';

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
});
afterEach(async () => {
  await removeDir(dir);
});

const tq = (...argv: string[]): Promise<Captured> => runTq(root, argv);

function errorOf(r: Captured): { code: string; message: string; data?: { rejected_path?: string } } {
  return (jsonOf(r.stderr) as { error: { code: string; message: string; data?: { rejected_path?: string } } }).error;
}

describe('worker refusals', () => {
  it('NOT_HOLDER (exit 12) for a copy in a second worker directory, ALREADY_DONE (exit 13) once the holder submitted', async () => {
    expect(ERROR_CODES.NOT_HOLDER).toBe(12);
    expect(ERROR_CODES.ALREADY_DONE).toBe(13);
    const input = join(dir, 'in.jsonl');
    await writeFile(input, '{"id":"0x1","text":"a"}\n');
    expect((await tq('create', 'demo', '--pipeline', EXAMPLE_PIPELINE_FILE, '--input', input)).code).toBe(0);
    const claimed = await tq('claim', 'demo', '--type', 'parse', '--worker', 'w1', '--json');
    const id = (jsonOf(claimed.stdout).ticket as { ticket_id: string }).ticket_id;
    const held = join(root, 'demo', 'claimed', 'w1', `${id}.json`);
    await mkdir(join(root, 'demo', 'claimed', 'w2'), { recursive: true });
    await cp(held, join(root, 'demo', 'claimed', 'w2', `${id}.json`));
    const out = join(dir, 'out.json');
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
