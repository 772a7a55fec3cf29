import type { Readable } from 'node:stream';
import type { TqError } from '../model/errors.js';
import { closeAsync, fstatAsync, openAsync, readAsync } from './fs-callbacks.js';

/** Bytes asked of the kernel per read: big enough for few calls, small enough to stop near the limit. */
const CHUNK = 1024 * 1024;

export interface BoundedReadOptions {
  /** Most bytes accepted; one more is read to tell "exactly the limit" from "over it". */
  maxBytes: number;
  /** The error to throw when the data is over maxBytes (bytes: the size when known, undefined for a stream cut off). */
  tooBig: (bytes: number | undefined) => TqError;
}

/**
 * Read a file named by the user (a regular file, a FIFO, a character device like /dev/stdin or
 * /dev/zero) or a stream, as UTF-8 text, reading at most maxBytes + 1 bytes.
 * Why never readFile: a huge or endless file (`--output /dev/zero`, a 1 GB file) made Node
 * allocate until it died with "Invalid string length" or out of memory, with a stack trace
 * instead of an error naming the file.
 * fs errors (ENOENT, EISDIR, EACCES) are thrown as they are, for the caller to phrase.
 */
export async function readTextBounded(source: string | Readable, opts: BoundedReadOptions): Promise<string> {
  const chunks = typeof source === 'string' ? await readPathBounded(source, opts) : await readStreamBounded(source, opts);
  return Buffer.concat(chunks).toString('utf8');
}

async function readPathBounded(path: string, opts: BoundedReadOptions): Promise<Buffer[]> {
  const fd = await openAsync(path, 'r');
  try {
    const st = await fstatAsync(fd);
    // A regular file's size is known: refuse a big one without reading a byte of it.
    if (st.isFile() && st.size > opts.maxBytes) throw opts.tooBig(st.size);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const want = Math.min(CHUNK, opts.maxBytes + 1 - total);
      const buf = Buffer.allocUnsafe(want);
      const bytesRead = await readAsync(fd, buf, want);
      if (bytesRead === 0) return chunks;
      chunks.push(buf.subarray(0, bytesRead));
      total += bytesRead;
      // Why: a file that grew after the fstat, a FIFO or a device has no size to check first.
      if (total > opts.maxBytes) throw opts.tooBig(undefined);
    }
  } finally {
    await closeAsync(fd);
  }
}

async function readStreamBounded(stream: Readable, opts: BoundedReadOptions): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    chunks.push(buf);
    total += buf.length;
    // Leaving the loop destroys the stream: nothing more is read from an endless pipe.
    if (total > opts.maxBytes) throw opts.tooBig(undefined);
  }
  return chunks;
}
