import * as fsp from 'node:fs/promises';
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
  rmdir(path: string): Promise<void>;
  /** fsync a directory so that renames into it survive a power cut. */
  syncDir(path: string): Promise<void>;
}

export const nodeFs: Fs = {
  async readFile(path) {
    const fh = await fsp.open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      return await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
  },
  async readFileWithIno(path) {
    // Why: O_NOFOLLOW — a symlink planted in a state directory must not make us read outside the run.
    const fh = await fsp.open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const st = await fh.stat();
      const text = await fh.readFile('utf8');
      return { text, ino: st.ino };
    } finally {
      await fh.close();
    }
  },
  async writeFileExclusive(path, data, sync) {
    const fh = await fsp.open(path, 'wx');
    let ok = false;
    try {
      await fh.writeFile(data, 'utf8');
      if (sync) await fh.sync();
      ok = true;
    } finally {
      await fh.close();
      // Why: a half-written file must never stay behind under a name someone might read.
      if (!ok) await fsp.unlink(path).catch(() => undefined);
    }
  },
  rename: (from, to) => fsp.rename(from, to),
  link: (existing, newPath) => fsp.link(existing, newPath),
  unlink: (path) => fsp.unlink(path),
  mkdir: async (path) => {
    await fsp.mkdir(path, { recursive: true });
  },
  readdir: (path) => fsp.readdir(path),
  opendir: (path) => fsp.opendir(path, { bufferSize: 64 }),
  lstat: (path) => fsp.lstat(path),
  stat: (path) => fsp.stat(path),
  rmdir: (path) => fsp.rmdir(path),
  async syncDir(path) {
    const fh = await fsp.open(path, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  },
};
