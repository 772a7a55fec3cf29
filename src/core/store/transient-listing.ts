import { errnoCode } from '../model/errors.js';

/**
 * Errors a directory listing can meet on a network filesystem while other clients rename entries
 * out of the directory: the entry or the directory handle went stale under us (ENOENT from a
 * getdents of an NFSv3 directory, ESTALE), or the server answered with a transient EIO. On a
 * local disk none of them happens to a directory that exists; there they are retried all the same.
 */
const TRANSIENT_LISTING_CODES = new Set(['ENOENT', 'ESTALE', 'EIO']);

/** How many times a listing is started again after a transient error before the error counts. */
export const LISTING_RETRIES = 4;
/** The wait before the first retry (ms); it doubles after each. */
const FIRST_RETRY_MS = 5;

export function isTransientListingError(err: unknown): boolean {
  const code = errnoCode(err);
  return code !== undefined && TRANSIENT_LISTING_CODES.has(code);
}

/**
 * Run `list` (which opens the directory afresh each time) until it succeeds or fails with an
 * error that is not transient; a transient error is retried at most LISTING_RETRIES times with
 * a short doubling wait, then it is thrown. `sleep` is injectable so tests do not wait.
 */
export async function retryTransientListing<T>(list: () => Promise<T>, sleep: (ms: number) => Promise<void> = defaultSleep): Promise<T> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await list();
    } catch (err) {
      if (attempt >= LISTING_RETRIES || !isTransientListingError(err)) throw err;
      await sleep(FIRST_RETRY_MS * 2 ** attempt);
    }
  }
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Names of the hidden files network filesystems make on their own: `.nfsXXXX` (the NFS client's
 * "silly rename" of a file deleted while still open) and `.fuse_hiddenXXXX` (FUSE's equivalent).
 * They belong to the filesystem client, not to the run: listings and fsck pass over them.
 */
export function isNetworkFsHiddenName(name: string): boolean {
  return name.startsWith('.nfs') || name.startsWith('.fuse_hidden');
}
