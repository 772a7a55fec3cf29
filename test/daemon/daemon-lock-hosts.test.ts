import { readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTqError } from '../../src/core/model/errors.js';
import { nodeFs, type Fs } from '../../src/core/store/fs-layer.js';
import { acquireDaemonLock, newDaemonIdentity } from '../../src/daemon/daemon-lock.js';
import type { DaemonLogEntry } from '../../src/daemon/daemon-log.js';
import { startDaemon } from '../../src/daemon/start-daemon.js';
import { waitFor } from '../helpers/wait-for.js';
import { runTq } from '../helpers/capture-io.js';
import { makeRun, type TestRun } from '../helpers/make-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';
import { ls } from '../helpers/ticket-files.js';
import { passDaemon } from './daemon-test-kit.js';

const TTL = 60_000;
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

function otherHostLock(expiresAt: string, token = 'theirs'): string {
  return JSON.stringify({ pid: 4242, hostname: 'host-a', token, started_at: '2029-12-31T00:00:00.000Z', expires_at: expiresAt });
}

describe('daemon locks across hosts (expiry)', () => {
  it('the lock carries an expiry, which every rescan pushes forward once half of it has passed', async () => {
    const d = await passDaemon(root, run.clock, { lockTtlMs: TTL });
    expect(await lockBody()).toMatchObject({ pid: process.pid, hostname: hostname(), expires_at: '2030-01-01T00:01:00.000Z' });
    run.clock.advance(10_000);
    await d.daemon.pass();
    expect((await lockBody()).expires_at).toBe('2030-01-01T00:01:00.000Z'); // not yet half way
    run.clock.advance(25_000);
    await d.daemon.pass();
    expect((await lockBody()).expires_at).toBe('2030-01-01T00:01:35.000Z');
    await d.daemon.stop();
    expect(await ls(run.ctx.paths.dir)).not.toContain('.daemon.lock');
  });

  it("another host's lock holds until it expires by our clock; then it is taken over", async () => {
    await writeFile(lockPath, otherHostLock('2030-01-01T00:00:30.000Z'));
    const err = await passDaemon(root, run.clock, { runs: ['demo'] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isTqError(err, 'DAEMON_RUNNING')).toBe(true);
    expect((err as Error).message).toContain('on host-a');
    run.clock.advance(30_001);
    const d = await passDaemon(root, run.clock, { runs: ['demo'], lockTtlMs: TTL });
    expect(d.actions('lock taken over')[0]?.note).toContain('pid 4242 on host-a) is gone: its lock expired at 2030-01-01T00:00:30.000Z');
    expect(await lockBody()).toMatchObject({ pid: process.pid, hostname: hostname(), expires_at: '2030-01-01T00:01:30.001Z' });
    expect(await ls(join(run.ctx.paths.dir, '.tmp'))).toEqual([]);
    await d.daemon.stop();
  });

  it('on the same host the pid decides, not the expiry', async () => {
    await writeFile(lockPath, JSON.stringify({ pid: process.pid, hostname: hostname(), token: 'another-daemon', started_at: '2029-01-01T00:00:00.000Z', expires_at: '2029-01-01T00:01:00.000Z' }));
    const err = await passDaemon(root, run.clock).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isTqError(err, 'DAEMON_RUNNING')).toBe(true);
  });

  it('a daemon that stopped renewing (stalled) loses the run to a daemon on another host, and never both serve it', async () => {
    const a = await passDaemon(root, run.clock, { hostname: 'host-a', lockTtlMs: TTL });
    run.clock.advance(TTL + 1);
    const b = await passDaemon(root, run.clock, { hostname: 'host-b', lockTtlMs: TTL });
    expect(b.daemon.runIds()).toEqual(['demo']);
    expect(await lockBody()).toMatchObject({ hostname: 'host-b' });
    // A wakes up: its next rescan finds the lock is no longer its own and lets the run go.
    await a.daemon.pass();
    expect(a.daemon.runIds()).toEqual([]);
    expect(a.actions('skipped')[0]?.note).toContain('on host-b');
    // B renews, A keeps off it; stopping A leaves B's lock alone.
    run.clock.advance(TTL / 2);
    await b.daemon.pass();
    await a.daemon.pass();
    expect(a.daemon.runIds()).toEqual([]);
    await a.daemon.stop();
    expect(await lockBody()).toMatchObject({ hostname: 'host-b', expires_at: '2030-01-01T00:02:30.001Z' });
    await b.daemon.stop();
    expect(await ls(run.ctx.paths.dir)).not.toContain('.daemon.lock');
  });

  it('takes over an expired lock only if it is still the one it read: one renewed meanwhile is left alone', async () => {
    await writeFile(lockPath, otherHostLock('2029-12-31T23:59:00.000Z'));
    let reads = 0;
    const fs: Fs = {
      ...nodeFs,
      async readUpTo(path, limit) {
        if (path === lockPath && (reads += 1) === 2) {
          // RACE simulated: host-a renews its lock between our first read and our re-read.
          await writeFile(lockPath, otherHostLock('2030-01-01T00:01:00.000Z', 'theirs'));
        }
        return nodeFs.readUpTo(path, limit);
      },
    };
    const err = await acquireDaemonLock({ ...run.ctx, fs }, { force: false, identity: newDaemonIdentity(), ttlMs: TTL }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isTqError(err, 'DAEMON_RUNNING')).toBe(true);
    expect(await lockBody()).toMatchObject({ hostname: 'host-a', expires_at: '2030-01-01T00:01:00.000Z' });
    // Our lock, written under a temp name, did not stay behind.
    expect(await ls(join(run.ctx.paths.dir, '.tmp'))).toEqual([]);
  });

  for (const runs of [['demo'], undefined]) {
    it(`a standby daemon on another host waits for a held run and takes it over once the lock expired (${runs ? 'a named run' : 'every run'})`, async () => {
      const a = await passDaemon(root, run.clock, { hostname: 'host-a', lockTtlMs: TTL });
      // Without standby a held run is DAEMON_RUNNING at start, as before.
      const refused = await passDaemon(root, run.clock, { hostname: 'host-b', ...(runs ? { runs } : {}) }).catch((e: unknown) => e);
      expect(isTqError(refused, 'DAEMON_RUNNING')).toBe(true);
      const b = await passDaemon(root, run.clock, { hostname: 'host-b', standby: true, lockTtlMs: TTL, ...(runs ? { runs } : {}) });
      expect(b.daemon.runIds()).toEqual([]);
      expect(b.actions('standing by')[0]?.note).toContain('on host-a');
      // A keeps renewing: B keeps standing by.
      run.clock.advance(TTL / 2);
      await a.daemon.pass();
      run.clock.advance(TTL / 2);
      await b.daemon.pass();
      expect(b.daemon.runIds()).toEqual([]);
      // A dies (stops renewing, its lock stays): once it has expired, B takes over.
      run.clock.advance(TTL / 2 + 1);
      await b.daemon.pass();
      expect(b.daemon.runIds()).toEqual(['demo']);
      expect(b.actions('lock taken over')[0]?.note).toContain('pid');
      expect(await lockBody()).toMatchObject({ hostname: 'host-b' });
      await b.daemon.stop();
      await a.daemon.stop();
    });
  }

  it('renews the lock also while a pass takes longer than the TTL (a huge run), and releases it on stop', async () => {
    // Every pass after the first hangs in its listing of claimed/ until released: no rescan renews.
    let gate: (() => void) | undefined;
    let listings = 0;
    const fs: Fs = {
      ...nodeFs,
      async readdir(path) {
        if (path.endsWith('/claimed') && (listings += 1) > 1) await new Promise<void>((r) => (gate = r));
        return nodeFs.readdir(path);
      },
    };
    const logs: DaemonLogEntry[] = [];
    const daemon = await startDaemon({ root, runs: ['demo'], watch: false, clock: run.clock, durability: 'none', fs, intervalMs: 10, lockTtlMs: 1000, log: (e) => logs.push(e) });
    try {
      await daemon.ready();
      await waitFor(() => gate !== undefined, 5000, 'a pass hanging');
      const before = String((await lockBody()).expires_at);
      run.clock.advance(600);
      await waitFor(async () => (await lockBody()).expires_at !== before, 5000, 'the lock renewed by the timer');
      expect((await lockBody()).expires_at).toBe('2030-01-01T00:00:01.600Z');
    } finally {
      const stopped = daemon.stop();
      gate?.();
      await stopped;
    }
    expect(await ls(run.ctx.paths.dir)).not.toContain('.daemon.lock');
  });

  it('tq daemon --lock-ttl sets the expiry (at least 1s)', async () => {
    expect((await runTq(root, ['daemon', 'demo', '--once', '--lock-ttl', '10ms'])).code).toBe(2);
    const r = await runTq(root, ['daemon', 'demo', '--once', '--lock-ttl', '5m', '--settle', '0']);
    expect(r.code).toBe(0);
  });

  it('a lock of another host without an expiry (an older version) never expires', async () => {
    await writeFile(lockPath, JSON.stringify({ pid: 4242, hostname: 'host-a', started_at: '2029-01-01T00:00:00.000Z' }));
    run.clock.advance(365 * 24 * 3600_000);
    const err = await passDaemon(root, run.clock).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isTqError(err, 'DAEMON_RUNNING')).toBe(true);
  });
});
