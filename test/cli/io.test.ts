import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { directWriter } from '../../src/cli/io.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir();
});
afterEach(async () => {
  await removeDir(dir);
});

/** A stand-in for process.stdout that records what it is given. */
function recordingStream(): { write: (chunk: string | Uint8Array) => boolean; got: string[]; made: number } {
  const s = {
    got: [] as string[],
    made: 0,
    write(chunk: string | Uint8Array) {
      s.got.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    },
  };
  return s;
}

describe('directWriter (CLI output without process.stdout)', () => {
  it('writes every byte straight to the descriptor, multi-byte text included, and never makes the stream', () => {
    const path = join(dir, 'out.txt');
    const fd = openSync(path, 'w');
    const stream = recordingStream();
    const write = directWriter(fd, () => {
      stream.made += 1;
      return stream;
    });
    write('première ligne ✓\n');
    write('x'.repeat(200_000));
    closeSync(fd);
    expect(readFileSync(path, 'utf8')).toBe(`première ligne ✓\n${'x'.repeat(200_000)}`);
    expect(stream.made).toBe(0);
  });

  it('once a direct write fails, that text and every later one go through the stream, in order', () => {
    // Why a descriptor no process has open: writeSync fails (EBADF), as on a full non-blocking pipe (EAGAIN).
    const fd = 2 ** 30;
    const stream = recordingStream();
    const write = directWriter(fd, () => stream);
    write('one\n');
    write('two\n');
    expect(stream.got).toEqual(['one\n', 'two\n']);
  });
});
