import * as fs from 'node:fs';
import { nodeFs, type Fs } from '../../dist/index.js';

/**
 * An experiment for the report (not used by ticketq itself): the Fs interface with every call
 * synchronous, file creation included. ticketq's own nodeFs already does metadata calls and
 * small reads synchronously and leaves creation, listing and fsync to the thread pool, where
 * the kernel's inode allocation can run on another core. This row measures the alternative.
 */
export const syncFs: Fs = {
  // Why ticketq's own: a bounded no-follow read is not what this row measures.
  readUpTo: (path, limit) => nodeFs.readUpTo(path, limit),
  readFile: async (path) => fs.readFileSync(path, 'utf8'),
  async writeFileExclusive(path, data, sync) {
    const fd = fs.openSync(path, 'wx');
    let ok = false;
    try {
      fs.writeFileSync(fd, data, 'utf8');
      if (sync) fs.fsyncSync(fd);
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
  readdir: async (path) => fs.readdirSync(path),
  opendir: async (path) => fs.opendirSync(path, { bufferSize: 64 }),
  lstat: async (path) => fs.lstatSync(path),
  stat: async (path) => fs.statSync(path),
  rmdir: async (path) => fs.rmdirSync(path),
  async syncDir(path) {
    const fd = fs.openSync(path, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  },
};
