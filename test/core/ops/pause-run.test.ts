import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimTicket } from '../../../src/core/ops/claim-ticket.js';
import { listPauses, pauseOf, pauseRun, resumeRun } from '../../../src/core/ops/pause-run.js';
import { runStatus } from '../../../src/core/views/list-tickets.js';
import { isTqError, type TqError } from '../../../src/core/model/errors.js';
import { addItems, makeRun, parseItems, reopen, T0, type TestRun } from '../../helpers/make-run.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';
import { expectFsckOk, ls } from '../../helpers/ticket-files.js';
import { waitFor } from '../../helpers/wait-for.js';

let root: string;
let run: TestRun;
beforeEach(async () => {
  root = await makeTempDir();
  run = await makeRun(root);
  await addItems(run.ctx, 'parse', parseItems(3));
  await addItems(run.ctx, 'translate', [{ text: 'a' }]);
});
afterEach(async () => {
  await removeDir(root);
});

async function claimError(stage: string, ctx = run.ctx): Promise<TqError> {
  try {
    await claimTicket(ctx, { stage, workerId: 'w1' });
  } catch (err) {
    if (isTqError(err)) return err;
    throw err;
  }
  throw new Error(`${stage} was claimed`);
}

describe('pause and resume', () => {
  it('a paused stage answers PAUSED (exit 15) and claims nothing; other stages go on; resume lets it go on', async () => {
    const p = await pauseRun(run.ctx, { stage: 'parse', reason: 'model quota' });
    expect(p).toEqual({ scope: 'stage', stage: 'parse', file: join(run.ctx.paths.dir, 'paused', 'parse.json'), record: { paused_at: T0, reason: 'model quota' } });
    const e = await claimError('parse');
    expect(e).toMatchObject({ code: 'PAUSED', exitCode: 15, file: p.file, data: { scope: 'stage', stage: 'parse' } });
    expect(e.message).toBe(`stage parse of run demo is paused since ${T0} (model quota): nothing is claimed until it is resumed`);
    // Nothing was made for the refused claimer.
    expect(await ls(join(run.ctx.paths.dir, 'claimed'))).toEqual([]);
    expect(await claimTicket(run.ctx, { stage: 'translate', workerId: 'w1' })).not.toBeNull();
    // Another process (a fresh context) sees the same pause: it is a file of the run.
    expect((await claimError('parse', await reopen(run.ctx, run.clock))).code).toBe('PAUSED');
    expect((await runStatus(run.ctx)).paused).toEqual(['parse']);
    await expectFsckOk(run.ctx);
    expect(await resumeRun(run.ctx, { stage: 'parse' })).toEqual({ removed: [p.file] });
    expect(await claimTicket(run.ctx, { stage: 'parse', workerId: 'w1' })).not.toBeNull();
    // The last pause gone, paused/ goes too: a claim pays one lstat again.
    expect(await ls(run.ctx.paths.dir)).not.toContain('paused');
    expect((await runStatus(run.ctx)).paused).toBeUndefined();
  });

  it('pausing the whole run holds every stage; resuming one stage does not lift it; resume without a stage lifts all', async () => {
    await pauseRun(run.ctx);
    await pauseRun(run.ctx, { stage: 'translate' });
    expect((await claimError('parse')).data).toEqual({ scope: 'run' });
    expect((await claimError('translate')).data).toEqual({ scope: 'run' });
    expect((await listPauses(run.ctx)).map((p) => p.stage ?? p.scope)).toEqual(['run', 'translate']);
    const partial = await resumeRun(run.ctx, { stage: 'translate' });
    expect(partial.still_paused).toMatchObject({ scope: 'run' });
    expect((await claimError('translate')).code).toBe('PAUSED');
    await pauseRun(run.ctx, { stage: 'curate' });
    const all = await resumeRun(run.ctx);
    expect(all.removed.map((f) => f.slice(run.ctx.paths.paused.length + 1)).sort()).toEqual(['all-stages.json', 'curate.json']);
    expect(await pauseOf(run.ctx, 'curate')).toBeUndefined();
    expect(await claimTicket(run.ctx, { stage: 'parse', workerId: 'w1' })).not.toBeNull();
    expect(await resumeRun(run.ctx)).toEqual({ removed: [] });
  });

  it('a claimer that found nothing paused sees a pause made by another process within ABSENT_DIR_RECHECK_MS, and its own at once', async () => {
    const worker = await reopen(run.ctx, run.clock);
    expect(await claimTicket(worker, { stage: 'parse', workerId: 'w1' })).not.toBeNull();
    await pauseRun(run.ctx, { stage: 'parse' });
    // Polled, not slept: the claimer remembers "no paused/" for ABSENT_DIR_RECHECK_MS (100 ms).
    const seen = await waitFor(async () => (await claimTicket(worker, { stage: 'parse', workerId: 'w1' }).then(() => undefined, (e: unknown) => (isTqError(e, 'PAUSED') ? e : undefined))), 2000, 'the pause to be seen');
    expect(seen.code).toBe('PAUSED');
    await resumeRun(worker);
    await pauseRun(worker, { stage: 'parse' });
    expect((await claimError('parse', worker)).code).toBe('PAUSED');
  });

  it('any file at the pause path pauses, even one that is not a record; an unknown stage is refused', async () => {
    await mkdir(run.ctx.paths.paused);
    await writeFile(join(run.ctx.paths.paused, 'parse.json'), 'by hand');
    const e = await claimError('parse');
    expect(e.code).toBe('PAUSED');
    expect(e.message).toBe('stage parse of run demo is paused: nothing is claimed until it is resumed');
    await expect(pauseRun(run.ctx, { stage: 'nope' })).rejects.toSatisfy((err) => isTqError(err, 'USAGE'));
    await expect(pauseRun(run.ctx, { stage: '../x' })).rejects.toSatisfy((err) => isTqError(err, 'INVALID_ID'));
  });
});
