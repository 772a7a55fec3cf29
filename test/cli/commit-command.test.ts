import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jsonOf, runTq } from '../helpers/capture-io.js';
import { makeObservedRun } from '../helpers/observed-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';

let root: string;
beforeEach(async () => {
  root = await makeTempDir('tq-cli-commit-');
});
afterEach(async () => {
  await removeDir(root);
});

function git(...args: string[]): string {
  return execFileSync('git', args, { cwd: root, encoding: 'utf8' });
}

describe('tq commit', () => {
  it('commits the run with a generated subject, then reports nothing to commit', async () => {
    git('init', '-q');
    git('config', 'user.name', 'tq test');
    git('config', 'user.email', 'tq@example.invalid');
    git('config', 'commit.gpgsign', 'false');
    await makeObservedRun(root);
    const r = await runTq(root, ['commit', 'gallia']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^committed [0-9a-f]{12} in .+: run gallia: \+4 completed, \+1 claimed, \+2 pending, 1 reaped\n$/);
    const again = await runTq(root, ['commit', 'gallia', '--json']);
    expect(jsonOf(again.stdout)).toMatchObject({ schema_version: 1, committed: false, commit: null, path_in_repo: 'gallia' });
    expect(git('log', '--format=%s')).toBe('run gallia: +4 completed, +1 claimed, +2 pending, 1 reaped\n');
  });

  it('-m sets the subject', async () => {
    git('init', '-q');
    git('config', 'user.name', 'tq test');
    git('config', 'user.email', 'tq@example.invalid');
    await makeObservedRun(root);
    expect((await runTq(root, ['commit', 'gallia', '-m', 'before curation'])).code).toBe(0);
    expect(git('log', '-1', '--format=%s')).toBe('before curation\n');
  });

  it('outside a git repository: exit 4 and a hint to git init', async () => {
    await makeObservedRun(root);
    const r = await runTq(root, ['commit', 'gallia']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('is not inside a git repository');
    expect(r.stderr).toContain('git init');
  });
});
