import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commitRun, commitSubject, ticketPathOf } from '../../../src/core/ops/commit-run.js';
import { isTqError } from '../../../src/core/model/errors.js';
import { reapExpired } from '../../../src/core/ops/reap-claims.js';
import { claimTicket } from '../../../src/core/ops/claim-ticket.js';
import { submitTicket } from '../../../src/core/ops/submit-ticket.js';
import { makeObservedRun } from '../../helpers/observed-run.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';

let root: string;
beforeEach(async () => {
  root = await makeTempDir('tq-commit-');
});
afterEach(async () => {
  await removeDir(root);
});

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8' });
}

function initRepo(dir: string): void {
  git(dir, 'init', '-q');
  git(dir, 'config', 'user.name', 'tq test');
  git(dir, 'config', 'user.email', 'tq@example.invalid');
  git(dir, 'config', 'commit.gpgsign', 'false');
}

describe('commitRun', () => {
  it('commits only the run, never .tmp/ or .daemon.lock, with a summary of each change', async () => {
    initRepo(root);
    const run = await makeObservedRun(root);
    const runDir = run.ctx.paths.dir;
    await mkdir(join(runDir, '.tmp'), { recursive: true });
    await writeFile(join(runDir, '.tmp', 'half-written.tmp'), 'x');
    await writeFile(join(runDir, '.daemon.lock'), '{"pid": 1}');
    await writeFile(join(root, 'unrelated.txt'), 'staged by the user, not ours to commit');
    git(root, 'add', 'unrelated.txt');

    const first = await commitRun(run.ctx);
    expect(first.committed).toBe(true);
    expect(first.path_in_repo).toBe('gallia');
    expect(first.message.split('\n')[0]).toBe('run gallia: +4 completed, +1 claimed, +2 pending, 1 reaped');
    expect(first.summary.now).toEqual({ pending: 2, claimed: 1, completed: 4, failed: 0, needs_review: 0 });
    const files = git(root, 'show', '--name-only', '--format=', 'HEAD').split('\n');
    expect(files).toContain(`gallia/completed/parse/${run.parse[0]}.json`);
    expect(files).toContain('gallia/run.json');
    expect(files.filter((f) => f.includes('.tmp') || f.includes('.daemon.lock'))).toEqual([]);
    expect(files).not.toContain('unrelated.txt');
    expect(git(root, 'status', '--porcelain')).toBe('A  unrelated.txt\n');
    expect(git(root, 'rev-parse', 'HEAD').trim()).toBe(first.commit);

    // The hexagone claim expires and is reaped; p2 is parsed, which cascades a translate ticket.
    run.clock.advance(2 * 3_600_000);
    expect((await reapExpired(run.ctx)).map((a) => a.action)).toEqual(['requeued']);
    await claimTicket(run.ctx, { stage: 'parse', workerId: 'w-parse' });
    await submitTicket(run.ctx, { ticketId: run.parse[2], workerId: 'w-parse', output: { walk: 3 } });
    const second = await commitRun(run.ctx);
    expect(second.message.split('\n')[0]).toBe('run gallia: +1 completed, +1 pending, 1 reaped');
    expect(second.message).toContain('tickets now: 3 pending, 5 completed');
    expect(git(root, 'log', '-1', '--format=%s')).toBe('run gallia: +1 completed, +1 pending, 1 reaped\n');

    const third = await commitRun(run.ctx);
    expect(third).toMatchObject({ committed: false, commit: null });
  });

  it('counts a reap that happened between two commits even when the ticket ended up completed', async () => {
    initRepo(root);
    const run = await makeObservedRun(root);
    await commitRun(run.ctx);
    await claimTicket(run.ctx, { stage: 'parse', workerId: 'w-x' });
    run.clock.advance(11 * 60_000);
    await reapExpired(run.ctx);
    await claimTicket(run.ctx, { stage: 'parse', workerId: 'w-parse' });
    await submitTicket(run.ctx, { ticketId: run.parse[2], workerId: 'w-parse', output: { walk: 3 } });
    // In the diff p2 only went pending -> completed; its history shows the reap in between.
    const r = await commitRun(run.ctx);
    expect(r.message.split('\n')[0]).toBe('run gallia: +1 completed, +1 pending, 1 reaped');
  });

  it('takes a subject line from the caller and keeps the summary in the body', async () => {
    initRepo(root);
    const run = await makeObservedRun(root);
    const r = await commitRun(run.ctx, { message: 'checkpoint before curation' });
    expect(git(root, 'log', '-1', '--format=%B')).toMatch(/^checkpoint before curation\n\ntickets now: 2 pending, 1 claimed, 4 completed/);
    expect(r.committed).toBe(true);
  });

  it('says clearly when the run is not in a git repository', async () => {
    const run = await makeObservedRun(root);
    const err = await commitRun(run.ctx, {}).catch((e: unknown) => e);
    expect(isTqError(err, 'NOT_FOUND')).toBe(true);
    expect((err as Error).message).toContain('is not inside a git repository');
  });

  it('refuses a run directory that the repository ignores', async () => {
    initRepo(root);
    await writeFile(join(root, '.gitignore'), 'gallia/\n');
    const run = await makeObservedRun(root);
    const err = await commitRun(run.ctx).catch((e: unknown) => e);
    expect(isTqError(err, 'WRONG_STATE')).toBe(true);
  });
});

describe('summary helpers', () => {
  it('reads ticket paths and ignores everything else', () => {
    expect(ticketPathOf('claimed/w1/parse-x-1.json')).toEqual({ state: 'claimed', ticketId: 'parse-x-1' });
    expect(ticketPathOf('claimed/w1/parse-x-1.result.json')).toBeUndefined();
    expect(ticketPathOf('claimed/w1/parse-x-1~1.result.json')).toBeUndefined();
    expect(ticketPathOf('registry/parse/parse-x-1.json')).toBeUndefined();
    expect(ticketPathOf('run.json')).toBeUndefined();
  });

  it('writes the subject in a fixed order', () => {
    const zero = { pending: 0, claimed: 0, completed: 0, failed: 0, needs_review: 0 };
    const base = { arrived: { ...zero }, reaped: 0, released: 0, requeued: 0, retried: 0, removed: 0, updated: 0, other_files: 0, now: { ...zero }, files_changed: 0 };
    expect(commitSubject('g', { ...base, arrived: { ...zero, pending: 3, completed: 12 }, reaped: 1 })).toBe('run g: +12 completed, +3 pending, 1 reaped');
    expect(commitSubject('g', { ...base, updated: 2 })).toBe('run g: 2 ticket(s) updated');
    expect(commitSubject('g', { ...base, other_files: 5 })).toBe('run g: 5 file(s) changed');
  });
});
