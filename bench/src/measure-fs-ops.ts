/**
 * What one filesystem operation costs in a fresh directory, done synchronously one after
 * another (µs per call, median over rounds). Used by figure 1 on each of its filesystems and by
 * the fs-op-costs profiling aid. The "create right after unlinks" row is the one that tells
 * filesystems apart: on ext4 without a journal, the inode allocator skips inodes freed in the
 * last minutes (recently_deleted()), so creating files right after deleting many costs more.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { median } from './stats.js';

const TEXT = 'x'.repeat(1100);

function timeEach(n: number, op: (i: number) => void): number {
  const t = performance.now();
  for (let i = 0; i < n; i += 1) op(i);
  return ((performance.now() - t) * 1000) / n;
}

function create(path: string, sync = false): void {
  const fd = fs.openSync(path, 'wx');
  fs.writeSync(fd, TEXT);
  if (sync) fs.fsyncSync(fd);
  fs.closeSync(fd);
}

export const CREATE = 'create + write + close (O_EXCL, 1.1 KB)';
export const RENAME = 'rename into another directory';
export const CREATE_AFTER_UNLINKS = 'create + write + close, right after unlinking as many files';

/** One round in `dir` (an empty directory of its own). */
function oneRound(dir: string, count: number, note: (k: string, us: number) => void): void {
  for (const d of ['a', 'b', 'c', 'd', 'e']) fs.mkdirSync(join(dir, d));
  note(CREATE, timeEach(count, (i) => create(join(dir, 'a', `f${i}.json`))));
  note(RENAME, timeEach(count, (i) => fs.renameSync(join(dir, 'a', `f${i}.json`), join(dir, 'b', `f${i}.json`))));
  note('link', timeEach(count, (i) => fs.linkSync(join(dir, 'b', `f${i}.json`), join(dir, 'c', `f${i}.json`))));
  note('unlink (the file keeps another link)', timeEach(count, (i) => fs.unlinkSync(join(dir, 'c', `f${i}.json`))));
  note('read a whole file (open, fstat, read, close)', timeEach(count, (i) => fs.readFileSync(join(dir, 'b', `f${i}.json`), 'utf8')));
  note('lstat', timeEach(count, (i) => fs.lstatSync(join(dir, 'b', `f${i}.json`))));
  note('unlink (last link: frees the inode)', timeEach(count, (i) => fs.unlinkSync(join(dir, 'b', `f${i}.json`))));
  note(CREATE_AFTER_UNLINKS, timeEach(count, (i) => create(join(dir, 'e', `f${i}.json`))));
  const few = Math.min(200, count);
  note('create + write + fsync + close', timeEach(few, (i) => create(join(dir, 'd', `f${i}.json`), true)));
  note('fsync a directory', timeEach(few, () => {
    const fd = fs.openSync(join(dir, 'd'), 'r');
    fs.fsyncSync(fd);
    fs.closeSync(fd);
  }));
}

/** µs per call of each operation, median of `rounds` rounds of `count`, in fresh directories under `parent`. */
export function measureFsOps(parent: string, count: number, rounds: number): Map<string, number> {
  const results = new Map<string, number[]>();
  const note = (k: string, us: number): void => {
    results.set(k, [...(results.get(k) ?? []), us]);
  };
  for (let r = 0; r < rounds; r += 1) {
    const dir = fs.mkdtempSync(join(parent, 'fsops-'));
    oneRound(dir, count, note);
  }
  // Why the directories are left: deleting them would free inodes right before whatever runs next.
  return new Map([...results].map(([k, v]) => [k, median(v)]));
}
