import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTqError } from '../../src/core/model/errors.js';
import { makeRun, type TestRun } from '../helpers/make-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';
import { ls } from '../helpers/ticket-files.js';
import { passDaemon } from './daemon-test-kit.js';

let root: string;
let run: TestRun;
let lockPath: string;
beforeEach(async () => {
  root = await makeTempDir();
  run = await makeRun(root);
  lockPath = join(run.ctx.paths.dir, '.daemon.lock');
});
afterEach(async () => {
  await removeDir(root);
});

async function lockBody(): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(lockPath, 'utf8')) as Record<string, unknown>;
}

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  return r.pid as number;
}

describe('daemon lock', () => {
  it('holds {pid, hostname, started_at} while running and removes it on stop', async () => {
    const d = await passDaemon(root, run.clock);
    expect(await lockBody()).toMatchObject({ pid: process.pid, hostname: hostname(), started_at: '2030-01-01T00:00:00.000Z' });
    await d.daemon.stop();
    expect(await ls(run.ctx.paths.dir)).not.toContain('.daemon.lock');
  });

  it('refuses a second daemon with DAEMON_RUNNING naming the holder, unless --force', async () => {
    const first = await passDaemon(root, run.clock);
    const err = await passDaemon(root, run.clock).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isTqError(err, 'DAEMON_RUNNING')).toBe(true);
    expect((err as Error).message).toContain(`pid ${process.pid} on ${hostname()}`);
    expect((err as { exitCode: number }).exitCode).toBe(8);

    const forced = await passDaemon(root, run.clock, { force: true });
    expect(forced.actions('lock held elsewhere')).toHaveLength(1);
    const token = (await lockBody()).token;
    await forced.daemon.pass();
    await forced.daemon.stop();
    // The forced daemon never removes a lock it does not own.
    expect((await lockBody()).token).toBe(token);
    await first.daemon.stop();
    expect(await ls(run.ctx.paths.dir)).not.toContain('.daemon.lock');
  });

  it('a forced daemon takes the lock once its holder has stopped', async () => {
    const first = await passDaemon(root, run.clock);
    const forced = await passDaemon(root, run.clock, { force: true });
    await first.daemon.stop();
    await forced.daemon.pass();
    expect(forced.actions('lock taken')).toHaveLength(1);
    expect(await ls(run.ctx.paths.dir)).toContain('.daemon.lock');
    await forced.daemon.stop();
    expect(await ls(run.ctx.paths.dir)).not.toContain('.daemon.lock');
  });

  it('takes over a stale lock whose pid is dead on this host', async () => {
    const pid = deadPid();
    await writeFile(lockPath, JSON.stringify({ pid, hostname: hostname(), started_at: '2029-01-01T00:00:00.000Z' }));
    const d = await passDaemon(root, run.clock);
    expect(d.actions('lock taken over')[0]?.note).toContain(`pid ${pid}`);
    expect((await lockBody()).pid).toBe(process.pid);
    await d.daemon.stop();
  });

  it('takes over an unreadable lock, but never one of another host', async () => {
    await writeFile(lockPath, 'garbage');
    const d = await passDaemon(root, run.clock);
    await d.daemon.stop();
    await writeFile(lockPath, JSON.stringify({ pid: deadPid(), hostname: 'some-other-host', started_at: '2029-01-01T00:00:00.000Z' }));
    const err = await passDaemon(root, run.clock).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isTqError(err, 'DAEMON_RUNNING')).toBe(true);
    expect((err as Error).message).toContain('some-other-host');
  });

  it('releases the locks it took when a later run is locked (all-runs mode)', async () => {
    const other = await makeRun(root, 'zzz');
    const holder = await passDaemon(root, run.clock, { runs: ['zzz'] });
    const err = await passDaemon(root, run.clock).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isTqError(err, 'DAEMON_RUNNING')).toBe(true);
    // 'demo' was locked before 'zzz' refused us: that lock must be gone again.
    expect(await ls(run.ctx.paths.dir)).not.toContain('.daemon.lock');
    expect(await ls(other.ctx.paths.dir)).toContain('.daemon.lock');
    await holder.daemon.stop();
  });
});
