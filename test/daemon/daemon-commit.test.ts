import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimTicket } from '../../src/core/ops/claim-ticket.js';
import { submitTicket } from '../../src/core/ops/submit-ticket.js';
import { addItems, makeRun, parseItems } from '../helpers/make-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';
import { passDaemon } from './daemon-test-kit.js';

let repo: string;
beforeEach(async () => {
  repo = await makeTempDir('tq-daemon-commit-');
  execFileSync('git', ['init', '-q'], { cwd: repo });
  execFileSync('git', ['config', 'user.email', 't@example.com'], { cwd: repo });
  execFileSync('git', ['config', 'user.name', 'test'], { cwd: repo });
});
afterEach(async () => {
  await removeDir(repo);
});

const git = (...args: string[]): string => execFileSync('git', args, { cwd: repo }).toString();

describe('tq daemon --commit', () => {
  it('commits each run it serves, with a summary, and never a temp or lock file', async () => {
    const { ctx, clock } = await makeRun(repo, 'gallia');
    await addItems(ctx, 'parse', parseItems(3));
    const d = await passDaemon(repo, clock, { commitIntervalMs: 60_000 });
    const c = await claimTicket(ctx, { stage: 'parse', workerId: 'w1' });
    if (!c) throw new Error('nothing claimed');
    await submitTicket(ctx, { ticketId: c.ticket.ticket_id, workerId: 'w1', output: { beats: [] } });
    await d.daemon.pass();
    // Stopping commits once more, whatever the interval: nothing the daemon saw is left out.
    await d.daemon.stop();
    const subject = git('log', '-1', '--format=%s').trim();
    expect(subject).toMatch(/^run gallia: /);
    expect(subject).toMatch(/\+1 completed/);
    expect(d.actions('committed')).toHaveLength(1);
    const files = git('ls-files').split('\n');
    expect(files.some((f) => f.includes('/completed/parse/'))).toBe(true);
    expect(files.filter((f) => f.includes('.tmp') || f.endsWith('.daemon.lock'))).toEqual([]);
  });

  it('a daemon without --commit never touches git', async () => {
    const { ctx, clock } = await makeRun(repo, 'quiet');
    await addItems(ctx, 'parse', parseItems(1));
    const d = await passDaemon(repo, clock);
    await d.daemon.pass();
    await d.daemon.stop();
    expect(() => git('log', '-1')).toThrow();
    expect(d.actions('committed')).toEqual([]);
  });
});
