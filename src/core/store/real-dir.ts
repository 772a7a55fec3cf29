import { TqError, errnoCode, ioError } from '../model/errors.js';
import { fileTypeOf, type Fs } from './fs-layer.js';

/**
 * The names of the directories from `runDir` down to `dir` (`claimed/w1` gives `claimed`,
 * `w1`), or undefined when `dir` is not strictly below `runDir` or takes a detour (an empty,
 * `.` or `..` part). Why so strict: these paths are built from validated ids, never from what a
 * file says; anything else is a bug or an attack, and nothing outside the run is ever touched.
 */
export function partsBelowRun(runDir: string, dir: string): string[] | undefined {
  if (!dir.startsWith(`${runDir}/`)) return undefined;
  const parts = dir.slice(runDir.length + 1).split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) return undefined;
  return parts;
}

/** UNSAFE_PATH for a path that is not a real directory inside the run. */
export function unsafeDirError(path: string, problem: string): TqError {
  return new TqError('UNSAFE_PATH', `${path} ${problem}: ticketq never writes, moves, deletes or lists anything through it (it was left alone)`, {
    file: path,
    hint: 'make it a real directory of the run (move the link or file away, then run `tq fsck`)',
  });
}

/**
 * True if `path` is a real directory (lstat: a directory, not a link to one), false when
 * nothing is there; UNSAFE_PATH when it is a symbolic link or not a directory.
 */
export async function foundRealDir(fs: Fs, path: string): Promise<boolean> {
  let st;
  try {
    st = await fs.lstat(path);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw ioError(err, 'checking directory', path);
  }
  if (st.isDirectory()) return true;
  throw unsafeDirError(path, st.isSymbolicLink() ? 'is a symbolic link, not a directory' : `is a ${fileTypeOf(st)} where a directory belongs`);
}
