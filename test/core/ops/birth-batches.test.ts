/**
 * Group commit of a durable add: the births of a batch are written, then each directory they
 * changed is fsynced once for the batch, after its last change and before the add returns.
 */
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addTickets, itemsOf } from '../../../src/core/ops/add-tickets.js';
import { BIRTH_BATCH } from '../../../src/core/ops/birth-batches.js';
import { createRun } from '../../../src/core/ops/create-run.js';
import { fixedClock } from '../../../src/core/model/clock.js';
import { TqError, isTqError } from '../../../src/core/model/errors.js';
import type { InputItem } from '../../../src/core/ops/read-input.js';
import { examplePipeline, parseItems, T0 } from '../../helpers/make-run.js';
import { recordingFs, type FsCall } from '../../helpers/faulty-fs.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';
import { expectFsckOk, ls, pendingDir } from '../../helpers/ticket-files.js';

let root: string;
beforeEach(async () => {
  root = await makeTempDir('tq-group-commit-');
});
afterEach(async () => {
  await removeDir(root);
});

/** The directory a mutating call changed (a rename or link changes its target's directory; the source's too). */
function changedDirs(call: FsCall): string[] {
  if (call.op === 'syncDir') return [];
  if (call.op === 'rename') return [dirname(call.path), dirname(call.to ?? '')];
  if (call.op === 'link') return [dirname(call.to ?? '')];
  if (call.op === 'mkdir') return [dirname(call.path)];
  return [dirname(call.path)];
}

describe('durable add: group commit', () => {
  it('fsyncs pending/, registry/ and moving/ once per batch, each after the last change the batch made there', async () => {
    const rec = recordingFs();
    const ctx = await createRun(root, 'gc', { pipeline: examplePipeline(), durability: 'full', clock: fixedClock(T0), fs: rec.fs });
    const n = BIRTH_BATCH + 44;
    rec.calls.length = 0;
    const added = await addTickets(ctx, 'parse', itemsOf(parseItems(n)));
    expect(added.created).toBe(n);
    const pending = pendingDir(ctx, 'parse');
    const registry = join(ctx.paths.registry, 'parse');
    const syncsOf = (dir: string): number => rec.calls.filter((c) => c.op === 'syncDir' && c.path === dir).length;
    // Why exactly two: nothing but the batch's commit syncs pending/parse/ (one birth each used to).
    expect(syncsOf(pending)).toBe(2);
    expect(syncsOf(ctx.paths.moving)).toBe(2);
    // Every directory a birth changed is synced after its last change.
    for (const dir of [pending, registry, ctx.paths.moving]) {
      const lastChange = rec.calls.findLastIndex((c) => changedDirs(c).includes(dir));
      const lastSync = rec.calls.findLastIndex((c) => c.op === 'syncDir' && c.path === dir);
      expect(lastChange, dir).toBeGreaterThanOrEqual(0);
      expect(lastSync, `${dir} was not synced after its last change`).toBeGreaterThan(lastChange);
    }
    // The first batch is committed before the second starts: a sync of pending/ between them.
    const firstSync = rec.calls.findIndex((c) => c.op === 'syncDir' && c.path === pending);
    const renamesBefore = rec.calls.slice(0, firstSync).filter((c) => c.op === 'rename' && dirname(c.to ?? '') === pending).length;
    expect(renamesBefore).toBe(BIRTH_BATCH);
    expect(await ls(pending)).toHaveLength(n);
    await expectFsckOk(ctx);
  });

  it('an input that fails part-way: the items before the bad one are made and committed, as without batches', async () => {
    const rec = recordingFs();
    const ctx = await createRun(root, 'bad', { pipeline: examplePipeline(), durability: 'full', clock: fixedClock(T0), fs: rec.fs });
    async function* fiveThenBad(): AsyncGenerator<InputItem> {
      yield* itemsOf(parseItems(5));
      throw new TqError('INVALID_INPUT', 'items.jsonl:6: not JSON', { file: 'items.jsonl:6' });
    }
    rec.calls.length = 0;
    const err = await addTickets(ctx, 'parse', fiveThenBad()).catch((e: unknown) => e);
    expect(isTqError(err, 'INVALID_INPUT')).toBe(true);
    expect((err as TqError).data?.created).toBe(5);
    expect(await ls(pendingDir(ctx, 'parse'))).toHaveLength(5);
    const lastRename = rec.calls.findLastIndex((c) => c.op === 'rename' && dirname(c.to ?? '') === pendingDir(ctx, 'parse'));
    expect(rec.calls.findLastIndex((c) => c.op === 'syncDir' && c.path === pendingDir(ctx, 'parse'))).toBeGreaterThan(lastRename);
  });

  it('a run without durability makes no batch fsyncs', async () => {
    const rec = recordingFs();
    const ctx = await createRun(root, 'nd', { pipeline: examplePipeline(), durability: 'none', clock: fixedClock(T0), fs: rec.fs });
    rec.calls.length = 0;
    await addTickets(ctx, 'parse', itemsOf(parseItems(10)));
    expect(rec.calls.filter((c) => c.op === 'syncDir')).toEqual([]);
  });
});
