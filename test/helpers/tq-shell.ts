import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BIN } from './build-dist.js';
import { spawnCollect, type BinResult } from './run-bin.js';

/**
 * A directory holding a `tq` executable that runs this checkout's bin/tq.js, as `npm link`
 * would put one on a newcomer's PATH. For tests that run command lines exactly as documented.
 */
export async function writeTqShim(dir: string): Promise<void> {
  await writeFile(join(dir, 'tq'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
  await chmod(join(dir, 'tq'), 0o755);
}

/** Run one documented shell line in `cwd` with the shim first on PATH; stdout and stderr together, as a terminal shows them. */
export function runShellLine(line: string, cwd: string, shimDir: string, env: NodeJS.ProcessEnv = {}): Promise<BinResult> {
  const base: NodeJS.ProcessEnv = { PATH: `${shimDir}:${process.env.PATH ?? ''}`, TQ_DURABILITY: 'none', NO_COLOR: '1', TQ_ROOT: '', HOME: cwd, ANTHROPIC_API_KEY: '' };
  return spawnCollect('sh', ['-c', `${line} 2>&1`], { cwd, env: { ...base, ...env }, killAfterMs: 60_000 });
}
