import { mkdirSync, rmdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let base: string | undefined;

/**
 * One parent directory for every measurement of this bench process.
 * Why: systems measured in sibling directories of one parent share the same ground (on ext4,
 * a new top-level directory may land in another block group); the large differences once
 * blamed on block groups came from recently freed inodes (see removeLater).
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

/** A fresh directory for one measurement (under `base`, default the bench's temp parent on the project disk). */
export async function makeTempDir(label: string, base?: string): Promise<string> {
  return mkdtemp(join(base ?? benchBase(), `${label}-`));
}

/** The parent of every measurement of this bench process on the project disk. */
export function benchParent(): string {
  return benchBase();
}

const deferred: string[] = [];

/**
 * Remove `dir` only when the whole bench is done (removeDeferred).
 * Why: on ext4 without a journal, creating files in the minutes after many deletions costs
 * milliseconds each (the allocator skips recently freed inodes), so deleting one system's
 * files right before another's round would tax the later one.
 */
export function removeLater(dir: string): void {
  deferred.push(dir);
}

export async function removeDeferred(): Promise<void> {
  for (const dir of deferred.splice(0)) await removeDir(dir);
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}
