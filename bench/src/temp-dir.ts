import { mkdirSync, rmdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let base: string | undefined;

/**
 * One parent directory for every measurement of this bench process.
 * Why: on ext4 a new top-level directory is spread to another block group, and on this kind of
 * machine the cost of creating a file differs by 20× between groups (measured: 20 µs vs 450 µs
 * per creation). Systems measured in sibling directories of one parent are compared on the same
 * ground; systems in unrelated temp directories would be compared on luck.
 */
function benchBase(): string {
  if (base === undefined) {
    base = join(tmpdir(), `tq-bench-${process.pid}`);
    mkdirSync(base, { recursive: true });
    const made = base;
    process.on('exit', () => {
      try {
        rmdirSync(made);
      } catch {
        // not empty (a measurement failed): leave it for inspection
      }
    });
  }
  return base;
}

/** A fresh directory for one measurement; the harness removes it afterwards (not timed). */
export async function makeTempDir(label: string): Promise<string> {
  return mkdtemp(join(benchBase(), `${label}-`));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}
