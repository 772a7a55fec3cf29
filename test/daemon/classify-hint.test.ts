import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifyHint, isWatchedDir } from '../../src/daemon/classify-hint.js';

const root = '/data/runs';

describe('classifyHint', () => {
  it('maps the directories the daemon watches to the work they may mean', () => {
    expect(classifyHint(root, root)).toEqual({ kind: 'runs' });
    expect(classifyHint(root, join(root, 'r1'))).toEqual({ kind: 'runs' });
    expect(classifyHint(root, join(root, 'r1', 'requests'))).toEqual({ kind: 'requests', run: 'r1' });
    expect(classifyHint(root, join(root, 'r1', 'claimed', 'w7'))).toEqual({ kind: 'worker', run: 'r1', worker: 'w7' });
    expect(classifyHint(root, join(root, 'r1', 'completed', 'parse'))).toEqual({ kind: 'completed', run: 'r1', stage: 'parse' });
    expect(classifyHint(root, join(root, 'r1', 'completed'))).toEqual({ kind: 'stages', run: 'r1' });
    expect(classifyHint(root, join(root, 'r1', 'claimed'))).toEqual({ kind: 'workers', run: 'r1' });
    expect(classifyHint(root, join(root, 'r1', 'pending', 'parse'))).toBeUndefined();
    expect(classifyHint(root, '/elsewhere/r1/requests')).toBeUndefined();
  });
});

describe('isWatchedDir', () => {
  it('chokidar watches only a few small directories per run, never files or ticket-heavy directories', () => {
    const yes = ['', 'r1', 'r1/claimed', 'r1/completed'];
    // completed/<stage>/ can hold 20,000 tickets, claimed/<worker>/ every claim of a worker,
    // requests/ any flood anyone writes: each gets one plain fs.watch, not chokidar.
    const no = ['r1/requests', 'r1/claimed/w7', 'r1/completed/parse', 'r1/pending', 'r1/pending/parse', 'r1/registry', 'r1/moving', 'r1/.tmp', 'r1/cascade', 'r1/claimed/w7/x', 'r1/completed/parse/t.json', '.git', 'r1/failed/parse'];
    for (const p of yes) expect(isWatchedDir(root, join(root, p), undefined), p).toBe(true);
    for (const p of no) expect(isWatchedDir(root, join(root, p), undefined), p).toBe(false);
    // A file where a watched directory would be is never watched.
    expect(isWatchedDir(root, join(root, 'r1', 'claimed'), false)).toBe(false);
  });
});
