/**
 * Profiling aid (not part of the report): what one filesystem operation costs in a fresh
 * directory, done synchronously one after another.
 *   node bench/dist/fs-op-costs.js [count=2000] [rounds=3] [directory=the bench's temp parent]
 * Figure 1 prints the same table for each of its filesystems.
 */
import { measureFsOps, RENAME } from './measure-fs-ops.js';
import { makeTempDir, removeDir } from './temp-dir.js';

const count = Number(process.argv[2] ?? 2000);
const rounds = Number(process.argv[3] ?? 3);
const dir = await makeTempDir('fsops', process.argv[4]);
try {
  const results = measureFsOps(dir, count, rounds);
  const rename = results.get(RENAME) ?? Number.NaN;
  process.stdout.write(`| operation (median of ${rounds} rounds of ${count}) | µs | ÷ rename |\n| --- | ---: | ---: |\n`);
  for (const [k, v] of results) process.stdout.write(`| ${k} | ${v.toFixed(1)} | ${(v / rename).toFixed(1)}× |\n`);
} finally {
  await removeDir(dir);
}
