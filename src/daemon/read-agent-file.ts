import { createHash } from 'node:crypto';
import { errnoCode, ioError } from '../core/model/errors.js';
import { MAX_AGENT_FILE_BYTES } from '../core/model/file-protocol-schema.js';
import type { Fs } from '../core/store/fs-layer.js';

/**
 * What is at a path an agent writes to. `fingerprint` changes whenever the content (or, for
 * entries we do not read, the entry) changes: it is how the daemon answers each version once.
 */
export type AgentFileRead =
  | { kind: 'gone' }
  | { kind: 'not_file'; what: 'directory' | 'symbolic link' | 'special file'; fingerprint: string }
  | { kind: 'too_big'; size: number; fingerprint: string }
  | { kind: 'text'; text: string; binary: boolean; fingerprint: string };

/**
 * Read a file an agent wrote without ever following a symlink (lstat, then O_NOFOLLOW) or
 * blocking on a FIFO (O_NONBLOCK), and without reading more than `maxBytes + 1` bytes.
 */
export async function readAgentFile(fs: Fs, path: string, maxBytes = MAX_AGENT_FILE_BYTES): Promise<AgentFileRead> {
  let st;
  try {
    st = await fs.lstat(path);
  } catch (err) {
    if (isGone(err)) return { kind: 'gone' };
    throw ioError(err, 'checking', path);
  }
  const entry = `${st.ino}:${st.size}`;
  if (st.isSymbolicLink()) return { kind: 'not_file', what: 'symbolic link', fingerprint: `link:${entry}` };
  if (st.isDirectory()) return { kind: 'not_file', what: 'directory', fingerprint: `dir:${st.ino}` };
  if (!st.isFile()) return { kind: 'not_file', what: 'special file', fingerprint: `special:${entry}` };
  if (st.size > maxBytes) return { kind: 'too_big', size: st.size, fingerprint: `big:${entry}` };
  let read;
  try {
    // RACE: the entry may have been swapped for a link or a FIFO since the lstat: readUpTo
    // refuses the link (ELOOP) and never hangs on a FIFO; what it opened decides.
    // Why maxBytes + 1: the file may grow while we read; never hold more than the limit in memory.
    read = await fs.readUpTo(path, maxBytes + 1);
  } catch (err) {
    if (isGone(err)) return { kind: 'gone' };
    if (errnoCode(err) === 'ELOOP') return { kind: 'not_file', what: 'symbolic link', fingerprint: `link:${entry}` };
    throw ioError(err, (err as { syscall?: unknown }).syscall === 'open' ? 'opening' : 'reading', path);
  }
  const { bytes, ino } = read;
  if (!read.isFile) return { kind: 'not_file', what: 'special file', fingerprint: `special:${ino}` };
  if (bytes.length > maxBytes) return { kind: 'too_big', size: bytes.length, fingerprint: `big:${ino}:${bytes.length}` };
  const text = bytes.toString('utf8');
  return {
    kind: 'text',
    text,
    binary: bytes.includes(0) || text.includes('\uFFFD'),
    fingerprint: createHash('sha256').update(bytes).digest('hex'),
  };
}

function isGone(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'ENOENT' || code === 'ENOTDIR';
}
