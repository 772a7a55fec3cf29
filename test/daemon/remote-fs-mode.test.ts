import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimTicket } from '../../src/core/ops/claim-ticket.js';
import { DEFAULT_INTERVAL_MS, DEFAULT_POLL_INTERVAL_MS } from '../../src/daemon/daemon-defaults.js';
import type { DaemonLogEntry } from '../../src/daemon/daemon-log.js';
import { detectRemoteFs, remoteFsName } from '../../src/daemon/detect-remote-fs.js';
import { startDaemon, type DaemonOptions } from '../../src/daemon/start-daemon.js';
import { runTq } from '../helpers/capture-io.js';
import { machinePace } from '../helpers/machine-pace.js';
import { addItems, makeRun, parseItems, type TestRun } from '../helpers/make-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';
import { expectFsckOk, ls, stateFile } from '../helpers/ticket-files.js';
import { waitFor } from '../helpers/wait-for.js';
import { readJson, workerDir } from './daemon-test-kit.js';

let root: string;
let run: TestRun;
beforeEach(async () => {
  root = await makeTempDir();
  run = await makeRun(root);
});
afterEach(async () => {
  await removeDir(root);
});

describe('detectRemoteFs', () => {
  it('names network and FUSE filesystems by their statfs type, and nothing for a local disk', async () => {
    expect(remoteFsName(0x6969)).toBe('NFS');
    expect(remoteFsName(0x65735546)).toBe('FUSE');
    expect(remoteFsName(0x00c36400)).toBe('Ceph');
    expect(remoteFsName(0xfe534d42)).toBe('SMB2');
    // A platform that reports f_type as a signed 32-bit number.
    expect(remoteFsName(0xff534d42 | 0)).toBe('SMB/CIFS');
    expect(remoteFsName(0x01021997)).toBe('9P');
    expect(remoteFsName(0xef53)).toBeUndefined(); // ext4
    expect(remoteFsName(0x01021994)).toBeUndefined(); // tmpfs
  });

  it('asks the nearest existing parent of a runs root not made yet, and says local when statfs fails', async () => {
    const asked: string[] = [];
    const stat = async (p: string): Promise<{ type: number }> => {
      asked.push(p);
      if (p !== '/mnt/shared') throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      return { type: 0x65735546 };
    };
    expect(await detectRemoteFs('/mnt/shared/runs/later', stat)).toBe('FUSE');
    expect(asked).toEqual(['/mnt/shared/runs/later', '/mnt/shared/runs', '/mnt/shared']);
    expect(await detectRemoteFs('/x', async () => Promise.reject(Object.assign(new Error('ENOSYS'), { code: 'ENOSYS' })))).toBeUndefined();
    expect(await detectRemoteFs(root)).toBeUndefined(); // the test's temp dir is a local disk
  });
});

describe('a daemon on a remote filesystem polls', () => {
  async function start(extra: Partial<DaemonOptions>): Promise<{ stop: () => Promise<void>; logs: DaemonLogEntry[] }> {
    const logs: DaemonLogEntry[] = [];
    const daemon = await startDaemon({ root, runs: ['demo'], durability: 'none', fullEvery: 100_000, log: (e) => logs.push(e), ...extra });
    await daemon.ready();
    return { stop: () => daemon.stop(), logs };
  }

  it('serves a file-only request and a result file within about one poll interval (1s), with no fs events at all', async () => {
    const ids = await addItems(run.ctx, 'parse', parseItems(2));
    // Why watch: false: no event ever comes, as on NFS or FUSE, where inotify never fires for
    // another client's writes; and full rescans far apart: only the light rescans can serve.
    const d = await start({ remote: 'NFS', watch: false });
    try {
      expect(d.logs.find((e) => e.action === 'started')?.note).toMatch(new RegExp(`rescan every ${DEFAULT_POLL_INTERVAL_MS} ms .*polling \\(the runs are on a NFS filesystem`));
      const pace = await machinePace();
      const bound = 2 * DEFAULT_POLL_INTERVAL_MS * pace;
      let t0 = Date.now();
      await writeFile(join(run.ctx.paths.requests, 'agent-1~r1.json'), '{"stage": "parse"}');
      const reply = await waitFor(async () => {
        const r = await readJson(join(run.ctx.paths.requests, 'agent-1~r1.reply.json')).catch(() => undefined);
        return r?.request_id === 'r1' ? r : undefined;
      }, 2 * bound, 'the reply');
      expect(Date.now() - t0).toBeLessThan(bound);
      expect(reply.status).toBe('claimed');
      // A result file in a worker directory (claimed by a worker of its own).
      const c = await claimTicket(run.ctx, { stage: 'parse', workerId: 'w9' });
      const id = String(c?.ticket.ticket_id);
      expect(ids).toContain(id);
      t0 = Date.now();
      await writeFile(join(workerDir(run.ctx, 'w9'), `${id}~1.result.json`), JSON.stringify({ output_data: { beats: [1] } }));
      await waitFor(async () => (await ls(workerDir(run.ctx, 'w9'))).length === 0, 2 * bound, 'the result served');
      expect(Date.now() - t0).toBeLessThan(bound);
      expect(await readJson(stateFile(run.ctx, 'completed', 'parse', id))).toMatchObject({ status: 'completed' });
    } finally {
      await d.stop();
    }
    await expectFsckOk(run.ctx);
  });

  it('keeps inotify events and the usual interval on a local disk, and with poll: false (--no-poll) on a remote one', async () => {
    for (const extra of [{}, { remote: 'FUSE', poll: false }] as Partial<DaemonOptions>[]) {
      const d = await start({ ...extra, loop: false });
      const note = String(d.logs.find((e) => e.action === 'started')?.note);
      await d.stop();
      expect(note).toContain(`rescan every ${DEFAULT_INTERVAL_MS} ms`);
      expect(note).not.toMatch(/; polling/);
      if (extra.remote) expect(note).toContain('not polling although the runs are on a FUSE filesystem (--no-poll)');
    }
  });
});

describe('tq daemon --poll / --no-poll', () => {
  it('--poll <duration> polls at that interval; --poll alone still takes a run name after it; --no-poll; a bad duration is a usage error', async () => {
    const started = (stderr: string): string => stderr.split('\n').find((l) => l.includes(' started ')) ?? '';
    const timed = await runTq(root, ['daemon', 'demo', '--once', '--poll', '500ms']);
    expect(timed.code).toBe(0);
    expect(started(timed.stderr)).toMatch(/runs demo; rescan every 500 ms .*; polling$/);
    const flag = await runTq(root, ['daemon', '--once', '--poll', 'demo']);
    expect(flag.code).toBe(0);
    expect(started(flag.stderr)).toMatch(new RegExp(`runs demo; rescan every ${DEFAULT_POLL_INTERVAL_MS} ms .*; polling$`));
    const off = await runTq(root, ['daemon', 'demo', '--once', '--no-poll']);
    expect(off.code).toBe(0);
    expect(started(off.stderr)).toMatch(new RegExp(`rescan every ${DEFAULT_INTERVAL_MS} ms \\(a full one every \\d+\\)$`));
    expect((await runTq(root, ['daemon', 'demo', '--once', '--poll=1ms'])).code).toBe(2);
  });
});
