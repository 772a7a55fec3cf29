import { createHash } from 'node:crypto';
import { lstat, readFile, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunCtx } from '../../src/core/store/run-context.js';
import { ls } from './ticket-files.js';

/**
 * Every file of ticket `id` in the state directories, as paths relative to the run (a ticket
 * exists exactly once: expect one entry).
 */
export async function copiesOf(ctx: RunCtx, id: string): Promise<string[]> {
  const found: string[] = [];
  for (const state of ['pending', 'claimed', 'completed', 'failed', 'needs_review']) {
    for (const sub of await ls(join(ctx.paths.dir, state))) {
      if ((await ls(join(ctx.paths.dir, state, sub))).includes(`${id}.json`)) found.push(`${state}/${sub}/${id}.json`);
    }
  }
  return found;
}

/**
 * A hash of everything under `dir` (names, entry types, regular files' contents, link targets;
 * never following a link or opening anything but a regular file), to prove nothing there
 * changed. `skip` leaves out top-level entries by name (e.g. the run itself, when hashing beside it).
 */
export async function hashTree(dir: string, skip: (name: string) => boolean = () => false): Promise<string> {
  const h = createHash('sha256');
  const walk = async (d: string, rel: string): Promise<void> => {
    let names: string[];
    try {
      names = (await readdir(d)).sort();
    } catch {
      h.update(`missing ${rel}\n`);
      return;
    }
    for (const name of names) {
      if (rel === '' && skip(name)) continue;
      const p = join(d, name);
      const st = await lstat(p);
      if (st.isDirectory()) {
        h.update(`dir ${rel}/${name}\n`);
        await walk(p, `${rel}/${name}`);
      } else if (st.isSymbolicLink()) h.update(`link ${rel}/${name} -> ${await readlink(p)}\n`);
      // Why only regular files are read: a FIFO would block the hash forever.
      else if (st.isFile()) h.update(`file ${rel}/${name} ${createHash('sha256').update(await readFile(p)).digest('hex')}\n`);
      else h.update(`special ${rel}/${name}\n`);
    }
  };
  await walk(dir, '');
  return h.digest('hex');
}
