import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunCtx } from '../../src/core/store/run-context.js';
import type { Ticket } from '../../src/core/model/ticket-schema.js';
import { fsckRun, type FsckReport } from '../../src/core/fsck/fsck-run.js';

export async function readTicketFile(path: string): Promise<Ticket> {
  return JSON.parse(await readFile(path, 'utf8')) as Ticket;
}

export async function writeTicketFile(path: string, t: Ticket): Promise<void> {
  await writeFile(path, `${JSON.stringify(t, null, 2)}\n`);
}

/** Names in a directory, [] when it does not exist. */
export async function ls(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch {
    return [];
  }
}

export function pendingDir(ctx: RunCtx, stage: string): string {
  return join(ctx.paths.dir, 'pending', stage);
}

export function stateFile(ctx: RunCtx, state: string, sub: string, id: string): string {
  return join(ctx.paths.dir, state, sub, `${id}.json`);
}

/** fsck without repair; fails the test with the problem list when not ok. */
export async function expectFsckOk(ctx: RunCtx): Promise<FsckReport> {
  const r = await fsckRun(ctx);
  if (!r.ok || r.problems.length > 0) throw new Error(`fsck found problems:\n${JSON.stringify(r.problems, null, 2)}`);
  return r;
}
