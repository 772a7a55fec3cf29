import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runPaths, runRelPath, runRelText } from '../../../src/core/store/run-paths.js';

describe('run-relative paths and messages (what is stored inside a run)', () => {
  const abs = runPaths('/data/runs', 'r1');

  it('runRelPath: a path of the run, relative to it', () => {
    expect(runRelPath(abs, '/data/runs/r1/pending/parse/p-1.json')).toBe('pending/parse/p-1.json');
    expect(runRelPath(abs, '/data/runs/r1')).toBe('.');
  });

  it('runRelText: every mention of the run directory becomes relative', () => {
    expect(runRelText(abs, '/data/runs/r1/claimed/w1/p-1.json: field status is "x" (see /data/runs/r1/registry/parse/p-1.json)')).toBe(
      'claimed/w1/p-1.json: field status is "x" (see registry/parse/p-1.json)',
    );
    expect(runRelText(abs, 'run at /data/runs/r1, done')).toBe('run at ., done');
    // Another run whose name starts the same is not this run.
    expect(runRelText(abs, '/data/runs/r10/pending/x.json')).toBe('/data/runs/r10/pending/x.json');
    expect(runRelText(abs, 'nothing here')).toBe('nothing here');
  });

  it('runRelText with a relative root: its absolute form is found too, and a longer path that ends like it is left alone', () => {
    const rel = runPaths('runs', 'r1');
    expect(runRelText(rel, 'runs/r1/pending/parse/x.json and ' + resolve('runs/r1/moving/y.json'))).toBe('pending/parse/x.json and moving/y.json');
    expect(runRelText(rel, '/elsewhere/myruns/r1/pending/x.json')).toBe('/elsewhere/myruns/r1/pending/x.json');
  });
});
