import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { traceLineage } from '../../../src/core/views/lineage.js';
import { isTqError } from '../../../src/core/model/errors.js';
import { makeObservedRun } from '../../helpers/observed-run.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';

let root: string;
beforeEach(async () => {
  root = await makeTempDir('tq-lineage-');
});
afterEach(async () => {
  await removeDir(root);
});

describe('traceLineage', () => {
  it('gives every root -> ticket chain of a de-duplicated child, with states, workers and refs', async () => {
    const run = await makeObservedRun(root);
    const [p0, p1] = run.parse;
    const [t0, t1] = run.translate;
    const r = await traceLineage(run.ctx, run.curateHexagone);
    expect(r.root_ids).toEqual([p0, p1].sort());
    expect(r.chains).toEqual(
      [
        [p0, t0, run.curateHexagone],
        [p1, t1, run.curateHexagone],
      ].sort((a, b) => a.join(' ').localeCompare(b.join(' '))),
    );
    expect(r.truncated).toBe(false);
    expect(r.nodes[run.curateHexagone]).toMatchObject({ stage: 'curate', state: 'claimed', worker_id: 'w-cur', key: 'Hexagone', parents: [t0, t1].sort() });
    expect(r.nodes[p0]).toMatchObject({ stage: 'parse', state: 'completed', worker_id: 'w-parse', source_refs: ['walk-1', '0x01', '0x02'], parents: [] });
    // The child's refs merge its parents' and its own input's.
    expect(r.nodes[run.curateHexagone]?.source_refs).toEqual(expect.arrayContaining(['walk-1', '0x01']));
    expect(r.nodes[p0]?.birth_record).toBe(join(run.ctx.paths.registry, 'parse', `${p0}.json`));
  });

  it('a root ticket is its own single chain', async () => {
    const run = await makeObservedRun(root);
    const r = await traceLineage(run.ctx, run.parse[2]);
    expect(r.chains).toEqual([[run.parse[2]]]);
    expect(r.nodes[run.parse[2]]?.state).toBe('pending');
  });

  it('falls back to the birth record when a ticket file is gone, and says so', async () => {
    const run = await makeObservedRun(root);
    const [p0] = run.parse;
    const [t0] = run.translate;
    await rm(join(run.ctx.paths.dir, 'completed', 'parse', `${p0}.json`));
    const r = await traceLineage(run.ctx, t0);
    expect(r.chains).toEqual([[p0, t0]]);
    expect(r.nodes[p0]).toMatchObject({ state: 'unknown', stage: 'parse', source_refs: ['walk-1', '0x01', '0x02'] });
  });

  it('refuses an id that never existed with NOT_FOUND', async () => {
    const run = await makeObservedRun(root);
    const err = await traceLineage(run.ctx, 'parse-nope-00000').catch((e: unknown) => e);
    expect(isTqError(err, 'NOT_FOUND')).toBe(true);
  });
});
