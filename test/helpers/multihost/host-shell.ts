import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';

/** Run a set-up command; rejects with its stderr (a hang is killed at `timeoutMs`). */
export function sh(cmd: string, args: string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/** Whether `cmd` (a name on PATH or an absolute path) can be run. */
export function hasCommand(cmd: string): boolean {
  if (cmd.startsWith('/')) return existsSync(cmd);
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Why the set-up cannot run here, or undefined: mounting needs root and /dev/fuse, and the
 * commands installed by scripts/multihost/ensure-multihost-tools.mjs.
 */
export function missingPrerequisite(commands: string[]): string | undefined {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'not root (mounting needs root)';
  if (!existsSync('/dev/fuse')) return 'no /dev/fuse';
  const missing = commands.filter((c) => !hasCommand(c));
  if (missing.length > 0) return `missing ${missing.join(', ')} (node scripts/multihost/ensure-multihost-tools.mjs installs them with apt-get)`;
  return undefined;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Whether process `pid` still runs (a zombie counts as gone: nothing reaps orphans here). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const st = spawnSync('cat', [`/proc/${pid}/stat`], { encoding: 'utf8' }).stdout;
  return !/^\d+ \(.*\) Z/.test(st);
}

/** Whether `dir` is a mount point now (from /proc/self/mounts; paths there escape spaces as \040). */
export function isMounted(dir: string): boolean {
  const mounts = spawnSync('cat', ['/proc/self/mounts'], { encoding: 'utf8' }).stdout;
  return mounts.split('\n').some((l) => l.split(' ')[1] === dir.replace(/ /g, '\\040'));
}

/** Unmount `dir` if mounted: a normal umount, then a lazy one when it is busy. */
export async function unmount(dir: string): Promise<void> {
  if (!isMounted(dir)) return;
  try {
    await sh('umount', [dir], 15_000);
  } catch {
    await sh('umount', ['-l', dir], 15_000);
  }
}
