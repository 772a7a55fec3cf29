import type { Fs } from '../core/store/fs-layer.js';

/**
 * The Fs of a run the daemon serves: reads refuse (ENOTREG-like `EFTYPE`) an entry that is a
 * FIFO, a socket or a device, without opening it.
 * Why: agents can write any file in a run, and a FIFO named like a ticket (in pending/,
 * claimed/<w>/, cascade/done/, moving/, registry/) makes a plain open for reading wait for a
 * writer forever; the read of a core operation (claim, submit, reap, recovery, cascade) opens
 * synchronously, so one such open would freeze the whole daemon, SIGTERM included. The lstat
 * first closes that for every entry present before the read; an entry swapped for a FIFO
 * between the lstat and the open is the Fs layer's to refuse (readUpTo opens O_NONBLOCK).
 * Links and directories are left to the wrapped read (O_NOFOLLOW gives ELOOP, EISDIR).
 */
export function guardReads(inner: Fs): Fs {
  const check = async (path: string): Promise<void> => {
    let st;
    try {
      st = await inner.lstat(path);
    } catch {
      // Missing (or unreadable): the read itself reports it as before.
      return;
    }
    if (st.isFile() || st.isDirectory() || st.isSymbolicLink()) return;
    const what = st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : 'a device';
    throw Object.assign(new Error(`EFTYPE: ${path} is ${what}, not a regular file; never opened`), { code: 'EFTYPE', syscall: 'open', path });
  };
  return {
    ...inner,
    async readFile(path) {
      await check(path);
      return inner.readFile(path);
    },
    async readFileWithIno(path) {
      await check(path);
      return inner.readFileWithIno(path);
    },
  };
}
