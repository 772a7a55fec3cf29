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

/** A real filesystem that fails the `failAt`-th mutating call (1-based) with `errno`. */
export function faultyFs(failAt: number, errno: string): FaultyFs {
  let n = 0;
  let fired = false;
  const fs = { ...nodeFs } as Fs;
  for (const key of MUTATING) {
    const real = nodeFs[key] as (...a: unknown[]) => Promise<unknown>;
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
