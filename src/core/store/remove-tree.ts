import { join } from 'node:path';
import { errnoCode, ioError } from '../model/errors.js';
import type { Fs } from './fs-layer.js';

/**
 * rm -r of a directory tq made itself (a run it was building): every entry is lstat'ed, a link
 * is removed as a link (never followed), files are unlinked, directories emptied then removed.
 * What is already gone counts as removed.
 */
export async function removeTree(fs: Fs, path: string): Promise<void> {
  let st;
  try {
    st = await fs.lstat(path);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return;
    throw ioError(err, 'removing', path);
  }
  try {
    if (!st.isDirectory()) {
      await fs.unlink(path);
      return;
    }
    for (const name of await fs.readdir(path)) await removeTree(fs, join(path, name));
    await fs.rmdir(path);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw ioError(err, 'removing', path);
  }
}
