import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pauseRun, resumeRun } from '../../src/core/ops/pause-run.js';
import { addItems, makeRun, parseItems, type TestRun } from '../helpers/make-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';
import { ls } from '../helpers/ticket-files.js';
import { passDaemon, readJson, type InProcessDaemon } from './daemon-test-kit.js';

const NO_SETTLE = { settle: { fileMs: 0, movingMs: 0, takenMs: 5000, tmpMs: 60_000 } };

let root: string;
let run: TestRun;
let d: InProcessDaemon | undefined;
beforeEach(async () => {
  root = await makeTempDir();
  run = await makeRun(root);
  await addItems(run.ctx, 'parse', parseItems(1));
});
afterEach(async () => {
  await d?.daemon.stop();
  d = undefined;
  await removeDir(root);
});

async function ask(worker: string, requestId: string): Promise<Record<string, unknown>> {
  await writeFile(join(run.ctx.paths.requests, `${worker}~${requestId}.json`), JSON.stringify({ stage: 'parse' }));
  await d?.daemon.pass();
  return readJson(join(run.ctx.paths.requests, `${worker}~${requestId}.reply.json`));
}

describe('file-only claim requests', () => {
  it('a paused stage is answered "paused" (no claim, no worker directory); once resumed the same worker gets its ticket', async () => {
    d = await passDaemon(root, run.clock, NO_SETTLE);
    await pauseRun(run.ctx, { stage: 'parse', reason: 'quota' });
    const reply = await ask('agent-1', 'r1');
    expect(reply).toMatchObject({ request_id: 'r1', status: 'paused', ticket_id: null, ticket_path: null });
    expect(reply.message).toMatch(/^stage parse of run demo is paused since .* \(quota\): nothing is claimed until it is resumed; ask again later$/);
    expect(reply.error).toBeUndefined();
    // A jittered wait before asking again (retry-after.ts), so that paused agents do not all ask at once.
    expect(reply.retry_after_ms).toBeGreaterThanOrEqual(1000);
    expect(reply.retry_after_ms).toBeLessThanOrEqual(3000);
    expect(d.actions('paused')).toHaveLength(1);
    expect(await ls(join(run.ctx.paths.dir, 'claimed'))).toEqual([]);
    expect(await ls(run.ctx.paths.requests)).not.toContain('agent-1~r1.json');
    await resumeRun(run.ctx);
    expect(await ask('agent-1', 'r2')).toMatchObject({ request_id: 'r2', status: 'claimed' });
  });

  it('a pause of the whole run is answered "paused" too', async () => {
    d = await passDaemon(root, run.clock, NO_SETTLE);
    await pauseRun(run.ctx);
    expect(await ask('agent-2', 'r1')).toMatchObject({ status: 'paused', message: expect.stringContaining('run demo is paused') });
  });
});
