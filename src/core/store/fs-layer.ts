import * as fsp from 'node:fs/promises';
import * as fs from 'node:fs';
import { constants, type Dir, type Stats } from 'node:fs';

/**
 * Every filesystem call the queue makes goes through this interface, so tests can inject
 * faults (ENOSPC, EIO, EACCES, EMFILE) at any single step of any operation.
 */
export interface Fs {
  readFile(path: string): Promise<string>;
  /** Read a file and its inode number from one open file handle (consistent pair). */
  readFileWithIno(path: string): Promise<{ text: string; ino: number }>;
  /** Create a new file; fails with EEXIST if the path exists (O_EXCL). */
  writeFileExclusive(path: string, data: string, sync: boolean): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  link(existing: string, newPath: string): Promise<void>;
  unlink(path: string): Promise<void>;
  mkdir(path: string): Promise<void>;
  readdir(path: string): Promise<string[]>;
  opendir(path: string): Promise<Dir>;
  lstat(path: string): Promise<Stats>;
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
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW;
/** Chunk size of readUpTo: a file growing while we read never makes us hold more than the limit. */
const READ_UP_TO_CHUNK = 64 * 1024;

function readOpenFileSync(fd: number, size: number): string {
  // Why: one read of size+1 bytes: a file that grew after our fstat is still read whole.
  const chunks: Buffer[] = [];
  let want = size + 1;
  for (;;) {
    const buf = Buffer.allocUnsafe(want);
    const n = fs.readSync(fd, buf, 0, want, null);
    chunks.push(buf.subarray(0, n));
    if (n < want) break;
    want = Math.max(want, 64 * 1024);
  }
  return chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8');
}

async function readFileHybrid(path: string): Promise<{ text: string; ino: number }> {
  // Why: O_NOFOLLOW — a symlink planted in a state directory must not make us read outside the run.
  const fd = fs.openSync(path, READ_FLAGS);
  try {
    const st = fs.fstatSync(fd);
    if (st.size <= SYNC_READ_MAX) return { text: readOpenFileSync(fd, st.size), ino: st.ino };
    // Why the same descriptor: the text and the inode must come from the same file.
    const text = await new Promise<string>((resolve, reject) => fs.readFile(fd, 'utf8', (err, t) => (err ? reject(err) : resolve(t))));
    return { text, ino: st.ino };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The real filesystem. Metadata calls (rename, link, unlink, lstat, mkdir), small reads and
 * file creation without fsync are synchronous; anything that waits for the disk (fsync, and
 * creation with fsync), big reads and directory listing stay asynchronous.
 * Why: on local disks a rename or an unlink takes ~10 µs, far less than a round trip through
 * libuv's thread pool (futex + eventfd + epoll, measured ~50–100 µs under load), and a queue
 * makes several of them per ticket. An fsync can wait milliseconds for the disk: that must not
 * stall every other claim loop of the process, so it goes to the pool.
 * Every call still returns a promise: errors surface the same way, and tests inject faults
 * through this interface unchanged.
 */
export const nodeFs: Fs = {
  readFile: async (path) => (await readFileHybrid(path)).text,
  readFileWithIno: (path) => readFileHybrid(path),
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
    // With fsync: asynchronous, so waiting for the disk never blocks the event loop.
    const fh = await fsp.open(path, 'wx');
    let ok = false;
    try {
      await fh.writeFile(data, 'utf8');
      await fh.sync();
      ok = true;
    } finally {
      await fh.close();
      if (!ok) await fsp.unlink(path).catch(() => undefined);
    }
  },
  rename: async (from, to) => fs.renameSync(from, to),
  link: async (existing, newPath) => fs.linkSync(existing, newPath),
  unlink: async (path) => fs.unlinkSync(path),
  mkdir: async (path) => {
    fs.mkdirSync(path, { recursive: true });
  },
  readdir: (path) => fsp.readdir(path),
  opendir: (path) => fsp.opendir(path, { bufferSize: 64 }),
  lstat: async (path) => fs.lstatSync(path),
  stat: async (path) => fs.statSync(path),
  async readUpTo(path, limit) {
    // RACE: the entry may have been swapped for a link or a FIFO since the caller's lstat:
    // O_NOFOLLOW refuses the link (ELOOP), O_NONBLOCK keeps a FIFO from hanging us, fstat decides.
    const fh = await fsp.open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      const st = await fh.stat();
      if (!st.isFile()) return { bytes: Buffer.alloc(0), ino: st.ino, isFile: false };
      const chunks: Buffer[] = [];
      let total = 0;
      while (total < limit) {
        const buf = Buffer.allocUnsafe(Math.min(READ_UP_TO_CHUNK, limit - total));
        const { bytesRead } = await fh.read(buf, 0, buf.length, null);
        if (bytesRead === 0) break;
        chunks.push(buf.subarray(0, bytesRead));
        total += bytesRead;
      }
      return { bytes: Buffer.concat(chunks, total), ino: st.ino, isFile: true };
    } finally {
      await fh.close().catch(() => undefined);
    }
  },
  rmdir: async (path) => fs.rmdirSync(path),
  async syncDir(path) {
    const fh = await fsp.open(path, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
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
  rename: (from, to) => fsp.rename(from, to),
  unlink: (path) => fsp.unlink(path),
};
