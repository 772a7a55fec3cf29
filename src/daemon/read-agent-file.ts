import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import { errnoCode, ioError } from '../core/model/errors.js';
import { MAX_AGENT_FILE_BYTES } from '../core/model/file-protocol-schema.js';

/**
 * What is at a path an agent writes to. `fingerprint` changes whenever the content (or, for
 * entries we do not read, the entry) changes: it is how the daemon answers each version once.
 */
export type AgentFileRead =
  | { kind: 'gone' }
  | { kind: 'not_file'; what: 'directory' | 'symbolic link' | 'special file'; fingerprint: string }
  | { kind: 'too_big'; size: number; fingerprint: string }
  | { kind: 'text'; text: string; binary: boolean; fingerprint: string };

const CHUNK = 64 * 1024;

/**
 * Read a file an agent wrote without ever following a symlink (lstat, then O_NOFOLLOW) or
 * blocking on a FIFO (O_NONBLOCK), and without reading more than `maxBytes + 1` bytes.
 */
export async function readAgentFile(path: string, maxBytes = MAX_AGENT_FILE_BYTES): Promise<AgentFileRead> {
  let st;
  try {
    st = await lstat(path);
  } catch (err) {
    if (isGone(err)) return { kind: 'gone' };
    throw ioError(err, 'checking', path);
  }
  const entry = `${st.ino}:${st.size}`;
  if (st.isSymbolicLink()) return { kind: 'not_file', what: 'symbolic link', fingerprint: `link:${entry}` };
  if (st.isDirectory()) return { kind: 'not_file', what: 'directory', fingerprint: `dir:${st.ino}` };
  if (!st.isFile()) return { kind: 'not_file', what: 'special file', fingerprint: `special:${entry}` };
  if (st.size > maxBytes) return { kind: 'too_big', size: st.size, fingerprint: `big:${entry}` };
  let fh;
  try {
    // RACE: the entry may have been swapped for a link or a FIFO since the lstat: O_NOFOLLOW
    // refuses the link (ELOOP), O_NONBLOCK keeps a FIFO from hanging us, fstat below decides.
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if (isGone(err)) return { kind: 'gone' };
    if (errnoCode(err) === 'ELOOP') return { kind: 'not_file', what: 'symbolic link', fingerprint: `link:${entry}` };
    throw ioError(err, 'opening', path);
  }
  try {
    const fst = await fh.stat();
    if (!fst.isFile()) return { kind: 'not_file', what: 'special file', fingerprint: `special:${fst.ino}` };
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, maxBytes + 1 - total));
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      chunks.push(buf.subarray(0, bytesRead));
      total += bytesRead;
      // Why: the file may grow while we read; never hold more than the limit in memory.
      if (total > maxBytes) return { kind: 'too_big', size: total, fingerprint: `big:${fst.ino}:${total}` };
    }
    const bytes = Buffer.concat(chunks, total);
    const text = bytes.toString('utf8');
    return {
      kind: 'text',
      text,
      binary: bytes.includes(0) || text.includes('\uFFFD'),
      fingerprint: createHash('sha256').update(bytes).digest('hex'),
    };
  } catch (err) {
    throw ioError(err, 'reading', path);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

function isGone(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'ENOENT' || code === 'ENOTDIR';
}
