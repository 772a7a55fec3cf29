import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh directory for one measurement; the harness removes it afterwards (not timed). */
export async function makeTempDir(label: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `tq-bench-${label}-`));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}
