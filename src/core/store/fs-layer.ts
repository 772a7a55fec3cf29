import * as fs from 'node:fs';
import { constants, type Dir, type Stats } from 'node:fs';
import { MAX_RECORD_BYTES } from '../model/json-limits.js';
import { fsyncAsync, opendirAsync, readAsync, readdirAsync, renameAsync, unlinkAsync } from './fs-callbacks.js';

/**
 * Every filesystem call the queue makes goes through this interface, so tests can inject
 * faults (ENOSPC, EIO, EACCES, EMFILE) at any single step of any operation.
 */
export interface Fs {
  /**
   * Read a whole file, at most `maxBytes` (default MAX_RECORD_BYTES): never through a symlink
   * (ELOOP), never a FIFO, socket, device or directory (code EFTYPE), never more than
   * maxBytes + 1 bytes of a bigger file (code EFBIG). See readUpTo for files read in part.
   */
  readFile(path: string, maxBytes?: number): Promise<string>;
  /** Create a new file; fails with EEXIST if the path exists (O_EXCL). */
  writeFileExclusive(path: string, data: string, sync: boolean): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  link(existing: string, newPath: string): Promise<void>;
  unlink(path: string): Promise<void>;
  mkdir(path: string): Promise<void>;
  readdir(path: string): Promise<string[]>;
  opendir(path: string): Promise<Dir>;
  lstat(path: string): Promise<Stats>;
  /**
   * lstat that answers undefined when nothing is there (ENOENT) instead of failing. Why: the
   * error costs far more than the call (its stack: ~40 µs per claim, measured), and every claim
   * looks for directories that are usually absent (lanes/, paused/). Optional: an Fs without it
   * is asked with lstat.
   */
  lstatIfExists?(path: string): Promise<Stats | undefined>;
  stat(path: string): Promise<Stats>;
  /**
   * Read at most `limit` bytes of a file someone else controls: never through a symlink (the
   * open fails with ELOOP) and never blocking on a FIFO (O_NONBLOCK). When the entry opened is
   * not a regular file, nothing is read and `isFile` is false. Errors keep the node `syscall`
   * ('open' for the open, else a read).
   */
  readUpTo(path: string, limit: number): Promise<{ bytes: Buffer; ino: number; isFile: boolean }>;
  rmdir(path: string): Promise<void>;
  /** fsync a directory so that renames into it survive a power cut. */
  syncDir(path: string): Promise<void>;
}

/**
 * Reads up to this size are done synchronously. Why: a ticket is a few KB, and reading it
 * directly (~10 µs) is several times cheaper than the thread-pool hand-off of four async calls
 * (open, fstat, read, close). Bigger files (outputs up to the 16 MB limit) go async so they
 * never stall the event loop.
 */
const SYNC_READ_MAX = 256 * 1024;
/**
 * Every open for reading. Why: agents can write any file in a run. O_NOFOLLOW: a symlink
 * planted in a state directory must not make us read outside the run (the open fails with
 * ELOOP). O_NONBLOCK: a FIFO named like a ticket must not hang us (the open returns at once;
 * fstat then says what it is). On a regular file O_NONBLOCK changes nothing.
 */
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
/** syncDir opens a directory only, never through a link. */
const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
/** Size of each read after the first (the first asks for the whole fstat size + 1). */
const READ_CHUNK = 512 * 1024;

/** What fstat says an entry that is not a regular file is (for error messages). */
export function fileTypeOf(st: Stats): string {
  if (st.isFile()) return 'regular file';
  if (st.isDirectory()) return 'directory';
  if (st.isFIFO()) return 'FIFO';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice()) return 'character device';
  if (st.isBlockDevice()) return 'block device';
  if (st.isSymbolicLink()) return 'symbolic link';
  return 'special file';
}

/**
 * The error of a read that opened something other than a regular file: code EFTYPE (BSD's
 * "inappropriate file type"; Linux has no errno for it), so callers handle it like any errno
 * (ioError names it, read-ticket.ts turns it into "not a ticket file").
 */
function notRegularFileError(path: string, st: Stats): NodeJS.ErrnoException {
  return Object.assign(new Error(`EFTYPE: not a regular file (${fileTypeOf(st)}), read '${path}'`), { code: 'EFTYPE', syscall: 'read', path, fileType: fileTypeOf(st) });
}

/** The error of a read stopped at its limit: code EFBIG, the message names the file and the limit. */
function tooBigError(path: string, limit: number): NodeJS.ErrnoException {
  return Object.assign(new Error(`EFBIG: more than ${limit} bytes (reading stopped there), read '${path}'`), { code: 'EFBIG', syscall: 'read', path, limit });
}

/**
 * Open `path` for reading without following a link or blocking on a FIFO, and fstat what was
 * opened. Errors keep node's `syscall` ('open' for the open). The caller closes `fd`.
 */
function openNoFollow(path: string): { fd: number; st: Stats } {
  const fd = fs.openSync(path, READ_FLAGS);
  try {
    return { fd, st: fs.fstatSync(fd) };
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

/**
 * Read at most `limit` bytes of an open regular file of (fstat) size `size`. Small files in one
 * synchronous read of size+1 bytes (a file that grew after the fstat is still read on); big
 * ones asynchronously, chunk by chunk.
 */
async function readOpenFile(fd: number, size: number, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  const sync = size <= SYNC_READ_MAX;
  let want = Math.min(limit, size + 1);
  while (total < limit) {
    const buf = Buffer.allocUnsafe(Math.max(1, Math.min(want, limit - total)));
    const n = sync ? fs.readSync(fd, buf, 0, buf.length, null) : await readAsync(fd, buf, buf.length);
    if (n === 0) break;
    chunks.push(buf.subarray(0, n));
    total += n;
    // Why: a short read of a regular file is its end; asking again would cost a syscall per ticket.
    if (n < buf.length) break;
    want = READ_CHUNK;
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total);
}

/**
 * Read a whole file the queue keeps (a ticket, run.json, a record), at most `limit` bytes:
 * never through a link, never from a FIFO, socket, device or directory (EFTYPE), never more
 * than limit + 1 bytes of a file that is bigger (EFBIG). The text and the inode come from the
 * same descriptor (a consistent pair).
 */
async function readFileBounded(path: string, limit: number): Promise<{ text: string; ino: number }> {
  const { fd, st } = openNoFollow(path);
  try {
    if (!st.isFile()) throw notRegularFileError(path, st);
    if (st.size > limit) throw tooBigError(path, limit);
    // Why limit + 1: the file may have grown since the fstat; one byte over tells us so.
    const bytes = await readOpenFile(fd, st.size, limit + 1);
    if (bytes.length > limit) throw tooBigError(path, limit);
    return { text: bytes.toString('utf8'), ino: st.ino };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The real filesystem. Metadata calls (rename, link, unlink, lstat, mkdir), small reads and
 * file creation are synchronous; fsync (of files and directories), big reads and directory
 * listing go to the thread pool.
 * Why: on local disks a rename or an unlink takes ~10 µs, far less than a round trip through
 * libuv's thread pool (futex + eventfd + epoll, measured ~50–100 µs under load), and a queue
 * makes several of them per ticket. An fsync can wait milliseconds for the disk: that must not
 * stall every other claim loop of the process, so it goes to the pool.
 * Every call still returns a promise: errors surface the same way, and tests inject faults
 * through this interface unchanged.
 */
export const nodeFs: Fs = {
  readFile: async (path, maxBytes = MAX_RECORD_BYTES) => (await readFileBounded(path, maxBytes)).text,
  async writeFileExclusive(path, data, sync) {
    if (!sync) {
      // Why synchronous without fsync: creating a small file is a few syscalls that never wait
      // for the disk; done directly they measured faster than three thread-pool round trips
      // (open, write, close), even where ext4 makes creation expensive.
      const fd = fs.openSync(path, 'wx');
      let ok = false;
      try {
        fs.writeFileSync(fd, data, 'utf8');
        ok = true;
      } finally {
        fs.closeSync(fd);
        // Why: a half-written file must never stay behind under a name someone might read.
        if (!ok) fs.rmSync(path, { force: true });
      }
      return;
    }
    // With fsync: only the fsync goes to the thread pool, so the long wait for the disk never
    // blocks the event loop. Why not the open, write and close too: each thread-pool round trip
    // (futex, eventfd, epoll, a promise) cost more than the call (strace: ~24 pool completions
    // per durable claim + submit, 9 of them opens, writes and closes). A creation can still wait
    // while another fsync holds its directory (strace -T, 16 durable loops on the project disk:
    // p50 0.5 ms); measured side by side (500 durable tickets, 16 loops) it was still faster:
    // tmpfs 540 -> 745 tickets/s, the project disk faster in 2 of 3 rounds.
    const fd = fs.openSync(path, 'wx');
    let ok = false;
    try {
      fs.writeFileSync(fd, data, 'utf8');
      await fsyncAsync(fd);
      ok = true;
    } finally {
      fs.closeSync(fd);
      if (!ok) fs.rmSync(path, { force: true });
    }
  },
  rename: async (from, to) => fs.renameSync(from, to),
  link: async (existing, newPath) => fs.linkSync(existing, newPath),
  unlink: async (path) => fs.unlinkSync(path),
  mkdir: async (path) => {
    fs.mkdirSync(path, { recursive: true });
  },
  readdir: (path) => readdirAsync(path),
  opendir: (path) => opendirAsync(path, 64),
  lstat: async (path) => fs.lstatSync(path),
  lstatIfExists: async (path) => fs.lstatSync(path, { throwIfNoEntry: false }),
  stat: async (path) => fs.statSync(path),
  async readUpTo(path, limit) {
    // RACE: the entry may have been swapped for a link or a FIFO since the caller's lstat:
    // O_NOFOLLOW refuses the link (ELOOP), O_NONBLOCK keeps a FIFO from hanging us, fstat decides.
    const { fd, st } = openNoFollow(path);
    try {
      if (!st.isFile()) return { bytes: Buffer.alloc(0), ino: st.ino, isFile: false };
      return { bytes: await readOpenFile(fd, st.size, limit), ino: st.ino, isFile: true };
    } finally {
      fs.closeSync(fd);
    }
  },
  rmdir: async (path) => fs.rmdirSync(path),
  async syncDir(path) {
    // Why O_DIRECTORY | O_NOFOLLOW: only ever a real directory (a FIFO put in its place must not hang us).
    // Why only the fsync in the pool: see writeFileExclusive.
    const fd = fs.openSync(path, DIR_FLAGS);
    try {
      await fsyncAsync(fd);
    } finally {
      fs.closeSync(fd);
    }
  },
};

/**
 * nodeFs for runs with durability 'full'. Why unlink and rename go back to the thread pool
 * there: freeing an inode whose data was just fsynced waits for the journal (strace -w: an
 * unlink of a moved-away version took ~2 ms in a durable run, ~5 µs in a 'none' run), and a
 * synchronous call would stall every claim loop of the process for that long.
 */
export const durableNodeFs: Fs = {
  ...nodeFs,
  rename: (from, to) => renameAsync(from, to),
  unlink: (path) => unlinkAsync(path),
};
