import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { makeTempDir, removeDir } from './temp-dir.js';

export interface CliTempRoot {
  /** This test's own temp directory (files the test hands to tq go here). */
  dir: string;
  /** `<dir>/runs`: the --root the test's tq commands use. */
  root: string;
}

/**
 * For in-process CLI tests: a fresh temp directory and runs root per test, removed after it,
 * and TQ_DURABILITY=none for the file. Why none: fsync is irrelevant to what CLI tests check,
 * and costs seconds. Call once at the top of a test file; read `dir`/`root` inside tests.
 */
export function useCliTempRoot(): CliTempRoot {
  const t: CliTempRoot = { dir: '', root: '' };
  let savedDurability: string | undefined;
  beforeAll(() => {
    savedDurability = process.env.TQ_DURABILITY;
    process.env.TQ_DURABILITY = 'none';
  });
  afterAll(() => {
    if (savedDurability === undefined) delete process.env.TQ_DURABILITY;
    else process.env.TQ_DURABILITY = savedDurability;
  });
  beforeEach(async () => {
    t.dir = await makeTempDir();
    t.root = join(t.dir, 'runs');
  });
  afterEach(async () => {
    await removeDir(t.dir);
  });
  return t;
}
