/**
 * Only real directories: every directory of a run below the run directory is lstat'ed (a
 * directory, not a link) before anything is created, moved, deleted or listed in it, and
 * nothing outside the run is ever touched. The check is cached per RunCtx, so the hot path
 * pays no lstat per operation.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { lstat, mkdir, readFile, readdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodeFs, type Fs } from '../../../src/core/store/fs-layer.js';
import { REAL_DIR_RECHECK_MS, checkRealDir, claimedDir, ensureDir, intoDir, openRun, stateDir, type RunCtx } from '../../../src/core/store/run-context.js';
import { createFileExclusive, listDir, unlinkIfExists, writeFileAtomic } from '../../../src/core/store/atomic-write.js';
import { quarantineFile } from '../../../src/core/store/quarantine.js';
import { readTicketAt } from '../../../src/core/store/read-ticket.js';
import { isTqError } from '../../../src/core/model/errors.js';
import { makeRun } from '../../helpers/make-run.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';

let root: string;
let sentinel: string;
let ctx: RunCtx;
beforeEach(async () => {
  root = await makeTempDir('tq-real-dir-');
  ({ ctx } = await makeRun(join(root, 'runs'), 'demo'));
  sentinel = join(root, 'sentinel');
  await mkdir(join(sentinel, 'sub'), { recursive: true });
  await writeFile(join(sentinel, 'parse-x.json'), '{"not":"yours"}\n');
  await writeFile(join(sentinel, 'sub', 'keep.txt'), 'keep\n');
});
afterEach(async () => {
  await removeDir(root);
});

/** Names, types and bytes of everything under `dir`, recursively (links by their target text). */
async function hashTree(dir: string): Promise<string> {
  const h = createHash('sha256');
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const name of (await readdir(d)).sort()) {
      const p = join(d, name);
      const st = await lstat(p);
      h.update(`${rel}/${name}\0${st.mode}\0`);
      if (st.isSymbolicLink()) h.update(await readlink(p));
      else if (st.isDirectory()) await walk(p, `${rel}/${name}`);
      else if (st.isFile()) h.update(await readFile(p));
    }
  };
  await walk(dir, '');
  return h.digest('hex');
}

async function expectUnsafe(p: Promise<unknown>, file?: string): Promise<void> {
  let error: unknown;
  try {
    await p;
  } catch (err) {
    error = err;
  }
  expect(isTqError(error, 'UNSAFE_PATH'), String(error)).toBe(true);
  if (isTqError(error) && file !== undefined) expect(error.file).toBe(file);
}

/** An Fs that counts lstat calls. */
function countingFs(): { fs: Fs; lstats: () => number } {
  let n = 0;
  return {
    fs: {
      ...nodeFs,
      lstat: (p) => {
        n += 1;
        return nodeFs.lstat(p);
      },
    },
    lstats: () => n,
  };
}

describe('checkRealDir', () => {
  it('true for a real directory, false for a missing one, UNSAFE_PATH for a link or a file', async () => {
    await ensureDir(ctx, stateDir(ctx, 'pending', 'parse'));
    expect(await checkRealDir(ctx, stateDir(ctx, 'pending', 'parse'))).toBe(true);
    expect(await checkRealDir(ctx, stateDir(ctx, 'pending', 'translate'))).toBe(false);
    expect(await checkRealDir(ctx, ctx.paths.dir)).toBe(true);
    await symlink(sentinel, join(ctx.paths.dir, 'moving'));
    await expectUnsafe(checkRealDir(ctx, ctx.paths.moving), ctx.paths.moving);
    await writeFile(join(ctx.paths.dir, 'quarantine'), 'a file');
    await expectUnsafe(checkRealDir(ctx, ctx.paths.quarantine), ctx.paths.quarantine);
    execFileSync('mkfifo', [join(ctx.paths.dir, 'rejected')]);
    await expectUnsafe(checkRealDir(ctx, ctx.paths.rejected), ctx.paths.rejected);
  });

  it('a link anywhere below the run directory is found, not just at the end', async () => {
    await rm(join(ctx.paths.dir, 'claimed'), { recursive: true, force: true });
    await mkdir(join(sentinel, 'w1'));
    await symlink(sentinel, join(ctx.paths.dir, 'claimed'));
    await expectUnsafe(checkRealDir(ctx, claimedDir(ctx, 'w1')), join(ctx.paths.dir, 'claimed'));
  });

  it('refuses a path that is not inside the run', async () => {
    await expectUnsafe(checkRealDir(ctx, sentinel));
    await expectUnsafe(checkRealDir(ctx, `${ctx.paths.dir}/pending/../../elsewhere`));
    await expectUnsafe(checkRealDir(ctx, `${ctx.paths.dir}-other/pending`));
  });

  it('is cached per RunCtx: repeated checks cost no lstat until REAL_DIR_RECHECK_MS has passed', async () => {
    const counting = countingFs();
    const c = await openRun(ctx.root, ctx.runId, { fs: counting.fs, durability: 'none' });
    await ensureDir(c, claimedDir(c, 'w1'));
    const after = counting.lstats();
    for (let i = 0; i < 100; i += 1) {
      await ensureDir(c, claimedDir(c, 'w1'));
      expect(await checkRealDir(c, claimedDir(c, 'w1'))).toBe(true);
    }
    expect(counting.lstats()).toBe(after);
    expect(REAL_DIR_RECHECK_MS).toBeLessThanOrEqual(1000);
  });

  it('a directory swapped for a link is noticed once the cache entry is stale', async () => {
    const c = await openRun(ctx.root, ctx.runId, { durability: 'none' });
    const w1 = claimedDir(c, 'w1');
    await ensureDir(c, w1);
    await rename(w1, join(root, 'w1-away'));
    await symlink(sentinel, w1);
    const realNow = Date.now;
    try {
      Date.now = () => realNow() + REAL_DIR_RECHECK_MS + 1;
      await expectUnsafe(checkRealDir(c, w1), w1);
    } finally {
      Date.now = realNow;
    }
  });
});

describe('ensureDir', () => {
  it('creates missing directories one level at a time', async () => {
    const d = join(ctx.paths.dir, 'cascade', 'done');
    await ensureDir(ctx, d);
    expect((await lstat(d)).isDirectory()).toBe(true);
  });

  it('refuses an existing link (UNSAFE_PATH) and creates nothing through it', async () => {
    const before = await hashTree(sentinel);
    await symlink(sentinel, join(ctx.paths.dir, 'pending'));
    await expectUnsafe(ensureDir(ctx, stateDir(ctx, 'pending', 'parse')), join(ctx.paths.dir, 'pending'));
    await rm(ctx.paths.tmp, { recursive: true, force: true });
    await symlink(sentinel, ctx.paths.tmp);
    // A fresh context, as another process has: this one found .tmp real a moment ago (cached).
    const c = await openRun(ctx.root, ctx.runId, { durability: 'none' });
    await expectUnsafe(writeFileAtomic(c, join(c.paths.dir, 'inputs', 'x.json'), '{}'), c.paths.tmp);
    await expectUnsafe(createFileExclusive(c, join(c.paths.dir, 'inputs', 'y.json'), '{}'), c.paths.tmp);
    expect(await hashTree(sentinel)).toBe(before);
    // The links are left alone.
    expect((await lstat(join(ctx.paths.dir, 'pending'))).isSymbolicLink()).toBe(true);
    expect((await lstat(ctx.paths.tmp)).isSymbolicLink()).toBe(true);
  });

  it('refuses a directory outside the run', async () => {
    await expectUnsafe(ensureDir(ctx, join(sentinel, 'new')));
    expect(await readdir(sentinel)).toEqual(['parse-x.json', 'sub']);
  });

  it('intoDir makes a directory again when git removed it (and checks it again)', async () => {
    const d = join(ctx.paths.dir, 'rejected');
    await ensureDir(ctx, d);
    await rm(d, { recursive: true });
    await intoDir(ctx, d, () => nodeFs.writeFileExclusive(join(d, 'a.json'), '{}', false));
    expect(await readdir(d)).toEqual(['a.json']);
  });
});

describe('listing, deleting and quarantining only in real directories', () => {
  it('listDir: [] for a missing directory, UNSAFE_PATH for a link (what it points to is never listed)', async () => {
    expect(await listDir(ctx, ctx.paths.rejected)).toEqual([]);
    await symlink(sentinel, ctx.paths.rejected);
    await expectUnsafe(listDir(ctx, ctx.paths.rejected), ctx.paths.rejected);
  });

  it('unlinkIfExists and quarantineFile never act through a linked directory', async () => {
    const before = await hashTree(sentinel);
    await symlink(sentinel, ctx.paths.moving);
    await expectUnsafe(unlinkIfExists(ctx, join(ctx.paths.moving, 'parse-x.json')));
    await mkdir(join(ctx.paths.dir, 'claimed'), { recursive: true });
    await symlink(sentinel, claimedDir(ctx, 'w9'));
    await expectUnsafe(quarantineFile(ctx, join(claimedDir(ctx, 'w9'), 'parse-x.json'), 'test'));
    expect(await hashTree(sentinel)).toBe(before);
  });

  it('quarantineFile moves a FIFO, a link or a directory named like a ticket as the entry itself', async () => {
    const pending = stateDir(ctx, 'pending', 'parse');
    await ensureDir(ctx, pending);
    execFileSync('mkfifo', [join(pending, 'parse-f.json')]);
    await symlink(join(sentinel, 'parse-x.json'), join(pending, 'parse-l.json'));
    await mkdir(join(pending, 'parse-d.json'));
    const before = await hashTree(sentinel);
    for (const n of ['parse-f.json', 'parse-l.json', 'parse-d.json']) expect(await quarantineFile(ctx, join(pending, n), 'not a ticket')).toBeDefined();
    expect(await readdir(pending)).toEqual([]);
    expect((await readdir(ctx.paths.quarantine)).filter((n) => n.endsWith('.why.json'))).toHaveLength(3);
    expect(await hashTree(sentinel)).toBe(before);
  });

  it('readTicketAt: a FIFO, a link or a directory named like a ticket is CORRUPT_TICKET saying what it is', async () => {
    const pending = stateDir(ctx, 'pending', 'parse');
    await ensureDir(ctx, pending);
    execFileSync('mkfifo', [join(pending, 'parse-f.json')]);
    await symlink(join(sentinel, 'parse-x.json'), join(pending, 'parse-l.json'));
    await mkdir(join(pending, 'parse-d.json'));
    const expectations: [string, RegExp][] = [
      ['parse-f.json', /is not a regular file \(FIFO\), not a ticket file/],
      ['parse-l.json', /is a symbolic link, not a ticket file/],
      ['parse-d.json', /is not a regular file \(directory\), not a ticket file/],
    ];
    for (const [name, message] of expectations) {
      let error: unknown;
      await readTicketAt(ctx, join(pending, name)).catch((err: unknown) => (error = err));
      expect(isTqError(error, 'CORRUPT_TICKET'), String(error)).toBe(true);
      expect(String((error as Error).message)).toMatch(message);
    }
  });
});
