import { open } from 'node:fs/promises';
import { nodeFs, type Fs } from '../../src/core/store/fs-layer.js';

/** The fs calls that change something: where a full disk, an I/O error or a denied write bites. */
export const MUTATING: readonly (keyof Fs)[] = ['writeFileExclusive', 'rename', 'link', 'unlink', 'mkdir', 'syncDir'];

export interface FaultyFs {
  fs: Fs;
  /** Did the injected fault fire? */
  fired(): boolean;
  /** Mutating calls seen so far. */
  calls(): number;
}

/**
 * nodeFs that makes every call a durable run makes, but flushes nothing to the disk. Why: the
 * fault points are the calls themselves (with fsync asked for, and syncDir); no power cut is
 * simulated, so waiting for the disk tests nothing, and on a shared disk each fsync can take
 * ~10 ms, hundreds of times per operation tested.
 */
const noFlushFs: Fs = {
  ...nodeFs,
  writeFileExclusive: (path, data) => nodeFs.writeFileExclusive(path, data, false),
  // Opened and closed as the real one does (so a missing directory still fails), never synced.
  syncDir: async (path) => (await open(path, 'r')).close(),
};

/**
 * A real filesystem that fails the `failAt`-th mutating call (1-based) with `errno`. Writes
 * are not flushed to the disk (see noFlushFs).
 */
export function faultyFs(failAt: number, errno: string): FaultyFs {
  let n = 0;
  let fired = false;
  const fs = { ...noFlushFs } as Fs;
  for (const key of MUTATING) {
    const real = noFlushFs[key] as (...a: unknown[]) => Promise<unknown>;
    (fs as unknown as Record<string, unknown>)[key] = async (...args: unknown[]) => {
      n += 1;
      if (n === failAt) {
        fired = true;
        throw Object.assign(new Error(`${errno}: injected fault, ${String(key)} '${String(args[0])}'`), { code: errno, syscall: String(key) });
      }
      return real(...args);
    };
  }
  return { fs, fired: () => fired, calls: () => n };
}

/**
 * nodeFs whose first `op` call matching `match` (on its arguments) is carried out and then
 * reported failed with `errno`: what NFS does when a request's reply is lost and its retry fails
 * (a rename's ENOENT, a link's EEXIST). strace can only skip a call, never do this. `calls()`
 * counts the matching calls.
 */
export function succeedThenFailFs(op: 'rename' | 'link', match: (from: string, to: string) => boolean, errno: 'ENOENT' | 'EEXIST'): FaultyFs {
  let fired = false;
  let n = 0;
  const real = nodeFs[op];
  const fs: Fs = {
    ...nodeFs,
    [op]: async (from: string, to: string) => {
      await real(from, to);
      if (!match(from, to)) return;
      n += 1;
      if (!fired) {
        fired = true;
        throw Object.assign(new Error(`${errno}: injected after success, ${op} '${from}' -> '${to}'`), { code: errno, syscall: op });
      }
    },
  };
  return { fs, fired: () => fired, calls: () => n };
}

/** One mutating call a recordingFs saw: the call and its first two path arguments. */
export interface FsCall {
  op: keyof Fs;
  path: string;
  to?: string;
}

/** noFlushFs that records every mutating call in order (e.g. to check that each changed directory was synced after its last change). */
export function recordingFs(): { fs: Fs; calls: FsCall[] } {
  const calls: FsCall[] = [];
  const fs = { ...noFlushFs } as Fs;
  for (const key of MUTATING) {
    const real = noFlushFs[key] as (...a: unknown[]) => Promise<unknown>;
    (fs as unknown as Record<string, unknown>)[key] = async (...args: unknown[]) => {
      const result = await real(...args);
      calls.push({ op: key, path: String(args[0]), ...(key === 'rename' || key === 'link' ? { to: String(args[1]) } : {}) });
      return result;
    };
  }
  return { fs, calls };
}
