import { statfs } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { errnoCode } from '../core/model/errors.js';

/**
 * statfs f_type magic numbers of the filesystems where inotify sees nothing of other clients'
 * changes (linux/magic.h, and the CIFS/SMB2 ones of fs/smb). GlusterFS, sshfs and NFS over
 * FUSE mounts are all FUSE.
 */
const REMOTE_FS_TYPES: ReadonlyMap<number, string> = new Map([
  [0x6969, 'NFS'],
  [0x65735546, 'FUSE'],
  [0x00c36400, 'Ceph'],
  [0xff534d42, 'SMB/CIFS'],
  [0xfe534d42, 'SMB2'],
  [0x517b, 'SMB'],
  [0x01021997, '9P'],
]);

/** The remote filesystem a statfs type number stands for, or undefined for a local one. */
export function remoteFsName(type: number): string | undefined {
  // Why >>> 0: some platforms report f_type as a signed 32-bit number (0xFF534D42 < 0).
  return REMOTE_FS_TYPES.get(type >>> 0);
}

/**
 * Is `path` (or, while it does not exist yet, its nearest existing parent) on a network or
 * FUSE filesystem? Its name ('NFS', 'FUSE', ...) if so, else undefined (a local disk, or
 * statfs unavailable: the daemon then keeps its inotify watchers).
 */
export async function detectRemoteFs(path: string, stat: (p: string) => Promise<{ type: number }> = statfs): Promise<string | undefined> {
  for (let p = resolve(path); ; p = dirname(p)) {
    try {
      return remoteFsName((await stat(p)).type);
    } catch (err) {
      const code = errnoCode(err);
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || dirname(p) === p) return undefined;
    }
  }
}
