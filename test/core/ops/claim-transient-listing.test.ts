import type { Dir } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimTicket } from '../../../src/core/ops/claim-ticket.js';
import { isTqError } from '../../../src/core/model/errors.js';
import { listDir } from '../../../src/core/store/atomic-write.js';
import { nodeFs, type Fs } from '../../../src/core/store/fs-layer.js';
import { LISTING_RETRIES } from '../../../src/core/store/transient-listing.js';
import { addItems, makeRun, parseItems, type TestRun } from '../../helpers/make-run.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';
import { pendingDir } from '../../helpers/ticket-files.js';

let root: string;
let run: TestRun;
beforeEach(async () => {
  root = await makeTempDir();
  run = await makeRun(root);
});
afterEach(async () => {
  await removeDir(root);
});

function errno(code: string, call: string, path: string): Error {
  return Object.assign(new Error(`${code}: injected, ${call} '${path}'`), { code, syscall: call });
}

/**
 * nodeFs whose first `n` listings of `dir` fail with `code`: half of them when opening (opendir,
 * readdir), half while reading the open stream (as NFS does when others rename out of it).
 */
function flakyListing(dir: string, n: number, code: string): { fs: Fs; failures(): number } {
  let failures = 0;
  const fail = (): boolean => failures < n && (failures += 1) > 0;
  const fs: Fs = {
    ...nodeFs,
    async opendir(path) {
      if (path !== dir || !fail()) return nodeFs.opendir(path);
      if (failures % 2 === 1) throw errno(code, 'opendir', path);
      const real = await nodeFs.opendir(path);
      return { read: async () => Promise.reject(errno(code, 'scandir', path)), close: () => real.close() } as unknown as Dir;
    },
    async readdir(path) {
      if (path === dir && fail()) throw errno(code, 'scandir', path);
      return nodeFs.readdir(path);
    },
  };
  return { fs, failures: () => failures };
}

describe('claims and listings on a directory others rename out of (network filesystems)', () => {
  for (const code of ['ENOENT', 'ESTALE', 'EIO']) {
    it(`a claim retries a listing of pending/ that fails with ${code}, and claims`, async () => {
      const [id] = await addItems(run.ctx, 'parse', parseItems(1));
      const flaky = flakyListing(pendingDir(run.ctx, 'parse'), LISTING_RETRIES, code);
      const r = await claimTicket({ ...run.ctx, fs: flaky.fs }, { stage: 'parse', workerId: 'w1' });
      expect(flaky.failures()).toBe(LISTING_RETRIES);
      expect(r?.ticket.ticket_id).toBe(id);
    });
  }

  it('a claim of an empty pending/ whose listing failed transiently says nothing is claimable (null)', async () => {
    await addItems(run.ctx, 'parse', parseItems(1));
    expect(await claimTicket(run.ctx, { stage: 'parse', workerId: 'w0' })).not.toBeNull();
    const flaky = flakyListing(pendingDir(run.ctx, 'parse'), 2, 'ESTALE');
    expect(await claimTicket({ ...run.ctx, fs: flaky.fs }, { stage: 'parse', workerId: 'w1' })).toBeNull();
    expect(flaky.failures()).toBe(2);
  });

  it('an error that does not go away is reported as IO_ERROR after the retries, naming the directory', async () => {
    await addItems(run.ctx, 'parse', parseItems(1));
    const dir = pendingDir(run.ctx, 'parse');
    const flaky = flakyListing(dir, 1000, 'ESTALE');
    const err = await claimTicket({ ...run.ctx, fs: flaky.fs }, { stage: 'parse', workerId: 'w1' }).catch((e: unknown) => e);
    expect(isTqError(err, 'IO_ERROR')).toBe(true);
    expect(String((err as Error).message)).toContain(dir);
    // The first try and LISTING_RETRIES more, per refill of the cursor (nextCandidate refills at most twice, but the first error stops it).
    expect(flaky.failures()).toBe(LISTING_RETRIES + 1);
  });

  it('an error that is not transient (EACCES) is not retried', async () => {
    await addItems(run.ctx, 'parse', parseItems(1));
    let calls = 0;
    const fs: Fs = {
      ...nodeFs,
      async opendir(path) {
        calls += 1;
        throw errno('EACCES', 'opendir', path);
      },
    };
    const err = await claimTicket({ ...run.ctx, fs }, { stage: 'parse', workerId: 'w1' }).catch((e: unknown) => e);
    expect(isTqError(err, 'IO_ERROR')).toBe(true);
    expect(calls).toBe(1);
  });

  it('listDir retries a transient readdir error, still treats a missing directory as empty, and leaves out .nfs*/.fuse_hidden* files', async () => {
    await addItems(run.ctx, 'parse', parseItems(2));
    const dir = pendingDir(run.ctx, 'parse');
    await writeFile(join(dir, '.nfs000000000123abcd00000001'), 'x');
    await writeFile(join(dir, '.fuse_hidden0000001a00000002'), 'x');
    const flaky = flakyListing(dir, 3, 'ENOENT');
    const names = await listDir({ ...run.ctx, fs: flaky.fs }, dir);
    expect(flaky.failures()).toBe(3);
    expect(names.sort()).toHaveLength(2);
    expect(names.every((n) => n.startsWith('parse-'))).toBe(true);
    expect(await listDir(run.ctx, join(run.ctx.paths.dir, 'no-such-dir'))).toEqual([]);
  });
});
