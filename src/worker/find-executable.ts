import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, join, resolve } from 'node:path';

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * Where `command` would be run from: a path (it has a '/') taken from `cwd`, else the first
 * match on $PATH; undefined when there is none. Why check before working: a typo would
 * otherwise fail every attempt of every ticket until all of them sit in failed/.
 */
export async function findExecutable(command: string, env: NodeJS.ProcessEnv, cwd: string = process.cwd()): Promise<string | undefined> {
  if (command.includes('/')) {
    const path = resolve(cwd, command);
    return (await isExecutableFile(path)) ? path : undefined;
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    const path = join(dir === '' ? cwd : resolve(cwd, dir), command);
    if (await isExecutableFile(path)) return path;
  }
  return undefined;
}
