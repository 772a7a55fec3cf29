/**
 * Every read of a file in a run opens with O_NOFOLLOW | O_NONBLOCK and checks with fstat that
 * it got a regular file, and stops at a size limit: a FIFO, a socket, a link or a directory
 * named like a ticket is refused at once (never read, never waited on), a huge file is refused
 * without being read whole.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, symlink, truncate, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodeFs, durableNodeFs } from '../../../src/core/store/fs-layer.js';
import { ioError, errnoCode } from '../../../src/core/model/errors.js';
import { MAX_RECORD_BYTES } from '../../../src/core/model/json-limits.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir('tq-fs-layer-');
});
afterEach(async () => {
  await removeDir(dir);
});

function mkfifo(path: string): void {
  execFileSync('mkfifo', [path]);
}

/** The error `p` rejects with (fails the test when it resolves). */
async function failureOf(p: Promise<unknown>): Promise<NodeJS.ErrnoException> {
  try {
    await p;
  } catch (err) {
    return err as NodeJS.ErrnoException;
  }
  throw new Error('expected a failure');
}

describe('readFile', () => {
  it('reads a regular file', async () => {
    const f = join(dir, 'a.json');
    await writeFile(f, '{"a":1}\n');
    expect(await nodeFs.readFile(f)).toBe('{"a":1}\n');
    await writeFile(join(dir, 'empty.json'), '');
    expect(await nodeFs.readFile(join(dir, 'empty.json'))).toBe('');
  });

  it('a FIFO with no writer fails at once with EFTYPE, naming the file and what it is', async () => {
    const f = join(dir, 'parse-x.json');
    mkfifo(f);
    for (const read of [nodeFs.readFile(f), durableNodeFs.readFile(f)]) {
      const err = await failureOf(read);
      expect(errnoCode(err)).toBe('EFTYPE');
      expect(err.message).toContain(f);
      expect(err.message).toContain('FIFO');
    }
    const wrapped = ioError(await failureOf(nodeFs.readFile(f)), 'reading ticket', f);
    expect(wrapped.code).toBe('IO_ERROR');
    expect(wrapped.message).toMatch(/EFTYPE \(not a regular file\)/);
    expect(wrapped.hint).toMatch(/not a regular file/);
  });

  it('a directory and a socket named like a ticket: EFTYPE; a symlink: ELOOP (never followed)', async () => {
    const d = join(dir, 'parse-d.json');
    await mkdir(d);
    expect(errnoCode(await failureOf(nodeFs.readFile(d)))).toBe('EFTYPE');
    const target = join(dir, 'outside.json');
    await writeFile(target, '{"secret":true}');
    const link = join(dir, 'parse-l.json');
    await symlink(target, link);
    expect(errnoCode(await failureOf(nodeFs.readFile(link)))).toBe('ELOOP');
    const sock = join(dir, 'parse-s.json');
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(sock, resolve));
    try {
      const err = await failureOf(nodeFs.readFile(sock));
      // Opening a socket is refused by the kernel (ENXIO) or reaches fstat (EFTYPE): never read.
      expect(['EFTYPE', 'ENXIO']).toContain(errnoCode(err));
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('stops at the limit: exactly the limit is read, one byte more is EFBIG naming the file', async () => {
    const f = join(dir, 'big.json');
    await writeFile(f, 'x'.repeat(1000));
    expect((await nodeFs.readFile(f, 1000)).length).toBe(1000);
    const err = await failureOf(nodeFs.readFile(f, 999));
    expect(errnoCode(err)).toBe('EFBIG');
    expect(err.message).toContain(f);
    expect(ioError(err, 'reading', f).message).toMatch(/EFBIG \(over the size limit/);
  });

  it('a sparse file far over the default limit is refused without reading it (no OOM)', async () => {
    const f = join(dir, 'huge.json');
    await writeFile(f, '');
    await truncate(f, MAX_RECORD_BYTES + 1);
    const before = process.memoryUsage().rss;
    expect(errnoCode(await failureOf(nodeFs.readFile(f)))).toBe('EFBIG');
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('reads a file bigger than the synchronous threshold whole (async path)', async () => {
    const f = join(dir, 'mid.json');
    const text = 'y'.repeat(3 * 1024 * 1024 + 7);
    await writeFile(f, text);
    expect((await nodeFs.readFile(f)).length).toBe(text.length);
  });
});

describe('readUpTo (shares the open and the bounded read)', () => {
  it('a FIFO: isFile false, nothing read, no hang', async () => {
    const f = join(dir, 'req.json');
    mkfifo(f);
    const r = await nodeFs.readUpTo(f, 100);
    expect(r.isFile).toBe(false);
    expect(r.bytes.length).toBe(0);
  });

  it('reads at most `limit` bytes', async () => {
    const f = join(dir, 'r.json');
    await writeFile(f, 'z'.repeat(5000));
    expect((await nodeFs.readUpTo(f, 100)).bytes.length).toBe(100);
    expect((await nodeFs.readUpTo(f, 10_000)).bytes.length).toBe(5000);
  });

  it('a symlink fails to open with ELOOP and syscall open', async () => {
    await writeFile(join(dir, 't'), 'x');
    await symlink(join(dir, 't'), join(dir, 'l'));
    const err = await failureOf(nodeFs.readUpTo(join(dir, 'l'), 10));
    expect(errnoCode(err)).toBe('ELOOP');
    expect(err.syscall).toBe('open');
  });
});

describe('syncDir', () => {
  it('syncs a real directory; refuses a FIFO (no hang) and a link to a directory', async () => {
    await nodeFs.syncDir(dir);
    const f = join(dir, 'fifo');
    mkfifo(f);
    expect(errnoCode(await failureOf(nodeFs.syncDir(f)))).toBe('ENOTDIR');
    await mkdir(join(dir, 'real'));
    await symlink(join(dir, 'real'), join(dir, 'link'));
    expect(['ELOOP', 'ENOTDIR']).toContain(errnoCode(await failureOf(nodeFs.syncDir(join(dir, 'link')))));
  });
});
