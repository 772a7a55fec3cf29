/**
 * Profiling aid (not part of the report): what one filesystem operation costs in a fresh
 * directory under the bench's temp parent, done synchronously one after another.
 *   node bench/dist/fs-op-costs.js [count=2000] [rounds=3]
 * Why: ticketq's lifecycle cost is mostly these operations (figure 1's protocol floor), and on
 * ext4 the price of creating a file differs a lot between block groups and machines.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { median } from './stats.js';
import { makeTempDir, removeDir } from './temp-dir.js';

const count = Number(process.argv[2] ?? 2000);
const rounds = Number(process.argv[3] ?? 3);
const text = 'x'.repeat(1100);

function timeEach(n: number, op: (i: number) => void): number {
  const t = performance.now();
  for (let i = 0; i < n; i += 1) op(i);
  return ((performance.now() - t) * 1000) / n;
}

const results = new Map<string, number[]>();
const note = (k: string, us: number): void => {
  results.set(k, [...(results.get(k) ?? []), us]);
};

for (let r = 0; r < rounds; r += 1) {
  const dir = await makeTempDir('fsops');
  try {
    for (const d of ['a', 'b', 'c', 'd']) fs.mkdirSync(join(dir, d));
    note('create + write + close (O_EXCL, 1.1 KB)', timeEach(count, (i) => {
      const fd = fs.openSync(join(dir, 'a', `f${i}.json`), 'wx');
      fs.writeSync(fd, text);
      fs.closeSync(fd);
    }));
    note('rename into another directory', timeEach(count, (i) => fs.renameSync(join(dir, 'a', `f${i}.json`), join(dir, 'b', `f${i}.json`))));
    note('link', timeEach(count, (i) => fs.linkSync(join(dir, 'b', `f${i}.json`), join(dir, 'c', `f${i}.json`))));
    note('unlink (the file keeps another link)', timeEach(count, (i) => fs.unlinkSync(join(dir, 'c', `f${i}.json`))));
    note('read a whole file (open, fstat, read, close)', timeEach(count, (i) => fs.readFileSync(join(dir, 'b', `f${i}.json`), 'utf8')));
    note('lstat', timeEach(count, (i) => fs.lstatSync(join(dir, 'b', `f${i}.json`))));
    note('unlink (last link: frees the inode)', timeEach(count, (i) => fs.unlinkSync(join(dir, 'b', `f${i}.json`))));
    const few = Math.min(200, count);
    note('create + write + fsync + close', timeEach(few, (i) => {
      const fd = fs.openSync(join(dir, 'd', `f${i}.json`), 'wx');
      fs.writeSync(fd, text);
      fs.fsyncSync(fd);
      fs.closeSync(fd);
    }));
    note('fsync a directory', timeEach(few, () => {
      const fd = fs.openSync(join(dir, 'd'), 'r');
      fs.fsyncSync(fd);
      fs.closeSync(fd);
    }));
  } finally {
    await removeDir(dir);
  }
}
const rename = median(results.get('rename into another directory') ?? []);
process.stdout.write(`| operation (median of ${rounds} rounds of ${count}) | µs | ÷ rename |\n| --- | ---: | ---: |\n`);
for (const [k, v] of results) process.stdout.write(`| ${k} | ${median(v).toFixed(1)} | ${(median(v) / rename).toFixed(1)}× |\n`);
