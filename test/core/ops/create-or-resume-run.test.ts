import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOrResumeRun } from '../../../src/core/ops/create-or-resume-run.js';
import { createRun } from '../../../src/core/ops/create-run.js';
import { addTickets, itemsOf } from '../../../src/core/ops/add-tickets.js';
import { isTqError } from '../../../src/core/model/errors.js';
import { fixedClock } from '../../../src/core/model/clock.js';
import type { InputItem } from '../../../src/core/ops/read-input.js';
import type { JsonObject } from '../../../src/core/model/ticket-schema.js';
import { examplePipeline, parseItems, T0 } from '../../helpers/make-run.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';
import { expectFsckOk, ls } from '../../helpers/ticket-files.js';

let root: string;
beforeEach(async () => {
  root = await makeTempDir('tq-create-resume-');
});
afterEach(async () => {
  await removeDir(root);
});

const SOURCE = '/data/walks.jsonl';
const base = () => ({ pipeline: examplePipeline(), durability: 'none' as const, clock: fixedClock(T0) });

/** The first `n` items, then the stream breaks, as when the creating process is killed mid-add. */
function* cutAfter(items: JsonObject[], n: number): Generator<InputItem> {
  let i = 0;
  for (const it of itemsOf(items)) {
    if (i++ === n) throw new Error('killed');
    yield it;
  }
}

/** A create whose add of `items` died after `n` of them: run.json and an unfinished batch. */
async function interruptedCreate(items: JsonObject[], n: number): Promise<void> {
  const ctx = await createRun(root, 'gallia', base());
  await expect(addTickets(ctx, 'parse', cutAfter(items, n), { source: SOURCE })).rejects.toThrow('killed');
}

async function expectRunExists(p: Promise<unknown>): Promise<void> {
  const err = await p.catch((e: unknown) => e);
  expect(isTqError(err, 'RUN_EXISTS'), String(err)).toBe(true);
}

describe('createOrResumeRun', () => {
  it('creates a run and adds its input', async () => {
    const r = await createOrResumeRun(root, 'gallia', { ...base(), items: itemsOf(parseItems(3)), source: SOURCE });
    expect(r.resumed).toBe(false);
    expect(r.added).toMatchObject({ stage: 'parse', created: 3, existing: 0, resumed: false });
    expect(await ls(`${r.ctx.paths.dir}/pending/parse`)).toHaveLength(3);
  });

  it('without items: an empty run, and a second call says RUN_EXISTS', async () => {
    const r = await createOrResumeRun(root, 'gallia', base());
    expect(r).toMatchObject({ resumed: false, added: undefined });
    await expectRunExists(createOrResumeRun(root, 'gallia', base()));
  });

  it('finishes a create interrupted mid-add: each item exactly once', async () => {
    const items = parseItems(10);
    await interruptedCreate(items, 4);
    const r = await createOrResumeRun(root, 'gallia', { ...base(), items: itemsOf(items), source: SOURCE });
    expect(r.resumed).toBe(true);
    expect(r.added?.resumed).toBe(true);
    expect((r.added?.created ?? 0) + (r.added?.existing ?? 0)).toBe(10);
    expect(await ls(`${r.ctx.paths.dir}/pending/parse`)).toHaveLength(10);
    await expectFsckOk(r.ctx);
    // The batch is finished now: the same create again is a plain RUN_EXISTS.
    await expectRunExists(createOrResumeRun(root, 'gallia', { ...base(), items: itemsOf(items), source: SOURCE }));
  });

  it('does not resume another source, stdin, another stage or another pipeline', async () => {
    const items = parseItems(5);
    await interruptedCreate(items, 2);
    await expectRunExists(createOrResumeRun(root, 'gallia', { ...base(), items: itemsOf(items), source: '/data/other.jsonl' }));
    await expectRunExists(createOrResumeRun(root, 'gallia', { ...base(), items: itemsOf(items), source: '-' }));
    await expectRunExists(createOrResumeRun(root, 'gallia', { ...base(), items: itemsOf(items) }));
    await expectRunExists(createOrResumeRun(root, 'gallia', { ...base(), items: itemsOf(items), source: SOURCE, stage: 'translate' }));
    const pipeline = examplePipeline() as { stages: Record<string, { description?: string }> };
    const changed = { ...pipeline, stages: { ...pipeline.stages, parse: { ...pipeline.stages.parse, description: 'changed' } } };
    await expectRunExists(createOrResumeRun(root, 'gallia', { ...base(), pipeline: changed, items: itemsOf(items), source: SOURCE }));
    // Nothing was added by the refused calls.
    expect(await ls(`${root}/gallia/pending/parse`)).toHaveLength(2);
  });

  it('finishes a create killed after run.json but before its input batch was recorded', async () => {
    await createRun(root, 'gallia', base());
    const r = await createOrResumeRun(root, 'gallia', { ...base(), items: itemsOf(parseItems(3)), source: SOURCE });
    expect(r.resumed).toBe(true);
    expect(await ls(`${r.ctx.paths.dir}/pending/parse`)).toHaveLength(3);
    await expectFsckOk(r.ctx);
    // It has its input now: the same create again is a plain RUN_EXISTS.
    await expectRunExists(createOrResumeRun(root, 'gallia', { ...base(), items: itemsOf(parseItems(3)), source: SOURCE }));
  });
});
