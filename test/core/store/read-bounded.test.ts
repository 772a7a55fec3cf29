import { execFileSync } from 'node:child_process';
import { mkdir, truncate, writeFile } from 'node:fs/promises';
import { createWriteStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readTextBounded, type BoundedReadOptions } from '../../../src/core/store/read-bounded.js';
import { TqError, errnoCode, isTqError } from '../../../src/core/model/errors.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir();
});
afterEach(async () => {
  await removeDir(dir);
});

/** Options that record what tooBig was told. */
function limited(maxBytes: number): BoundedReadOptions & { told: (number | undefined)[] } {
  const told: (number | undefined)[] = [];
  return { maxBytes, told, tooBig: (bytes) => (told.push(bytes), new TqError('INVALID_INPUT', `too big: ${String(bytes)}`)) };
}

async function failureOf(source: string | Readable, opts: BoundedReadOptions): Promise<unknown> {
  try {
    await readTextBounded(source, opts);
  } catch (err) {
    return err;
  }
  throw new Error('read was accepted');
}

describe('readTextBounded', () => {
  it('reads a file of up to maxBytes whole, as UTF-8', async () => {
    const file = join(dir, 'ok.json');
    await writeFile(file, '{"é":1}');
    expect(await readTextBounded(file, limited(Buffer.byteLength('{"é":1}')))).toBe('{"é":1}');
  });

  it('refuses a regular file over the limit from its size, without reading it (a sparse 1 GB file)', async () => {
    const file = join(dir, 'big.json');
    await writeFile(file, '');
    await truncate(file, 1024 ** 3);
    const opts = limited(16);
    const err = await failureOf(file, opts);
    expect(isTqError(err, 'INVALID_INPUT')).toBe(true);
    expect(opts.told).toEqual([1024 ** 3]);
  });

  it('stops an endless character device after limit + 1 bytes', async () => {
    if (!existsSync('/dev/zero')) return;
    const opts = limited(3 * 1024 * 1024 + 7);
    const err = await failureOf('/dev/zero', opts);
    expect(isTqError(err, 'INVALID_INPUT')).toBe(true);
    expect(opts.told).toEqual([undefined]);
  });

  it('stops a stream over the limit and destroys it', async () => {
    let pulled = 0;
    const endless = new Readable({
      read() {
        pulled += 1;
        this.push(Buffer.alloc(1024, 0x20));
      },
    });
    const opts = limited(10 * 1024);
    expect(isTqError(await failureOf(endless, opts), 'INVALID_INPUT')).toBe(true);
    expect(endless.destroyed).toBe(true);
    expect(pulled).toBeLessThan(40);
  });

  it('reads a stream of strings and buffers', async () => {
    expect(await readTextBounded(Readable.from(['{"a":', Buffer.from('1}')]), limited(100))).toBe('{"a":1}');
  });

  it('throws fs errors as they are, for the caller to phrase', async () => {
    expect(errnoCode(await failureOf(join(dir, 'missing'), limited(10)))).toBe('ENOENT');
    await mkdir(join(dir, 'a-dir'));
    expect(errnoCode(await failureOf(join(dir, 'a-dir'), limited(10)))).toBe('EISDIR');
  });

  it('reads a FIFO named on the command line, with the same limit', async () => {
    const fifo = join(dir, 'pipe');
    try {
      execFileSync('mkfifo', [fifo]);
    } catch {
      return; // no mkfifo here
    }
    const feed = (data: Buffer): void => {
      const w = createWriteStream(fifo);
      // Why: the reader closes its end at the limit; the writer then gets EPIPE, which is expected.
      w.on('error', () => undefined);
      w.end(data);
    };
    feed(Buffer.from('{"a":1}'));
    expect(await readTextBounded(fifo, limited(100))).toBe('{"a":1}');
    feed(Buffer.alloc(1024 * 1024, 0x20));
    const opts = limited(10 * 1024);
    expect(isTqError(await failureOf(fifo, opts), 'INVALID_INPUT')).toBe(true);
    expect(opts.told).toEqual([undefined]);
  });
});
