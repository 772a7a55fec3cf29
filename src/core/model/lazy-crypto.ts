import { closeSync, openSync, readSync } from 'node:fs';

/**
 * node:crypto, loaded the first time something needs it. Why not a static import: loading it
 * (with the stream machinery it pulls in) cost ~3–4 ms of every one-shot `tq` command, most of
 * which never hash anything, and random bytes come cheaper from the kernel (fillRandom).
 */
let cryptoModule: typeof import('node:crypto') | undefined;
function crypto(): typeof import('node:crypto') {
  cryptoModule ??= process.getBuiltinModule('node:crypto');
  return cryptoModule;
}

/** SHA-256 of `text`, as hex (crypto.hash: one call, no Hash object). */
export function sha256Hex(text: string): string {
  return crypto().hash('sha256', text);
}

/**
 * Fill `buf` with random bytes of crypto strength: read from /dev/urandom (the kernel's
 * generator, which crypto.randomFillSync also draws on), else crypto.randomFillSync (a system
 * without /dev/urandom, or one that refuses to open it).
 */
export function fillRandom(buf: Buffer): void {
  try {
    const fd = openSync('/dev/urandom', 'r');
    try {
      let at = 0;
      while (at < buf.length) {
        const n = readSync(fd, buf, at, buf.length - at, null);
        if (n <= 0) break;
        at += n;
      }
      if (at === buf.length) return;
    } finally {
      closeSync(fd);
    }
  } catch {
    // Fall through to crypto.
  }
  crypto().randomFillSync(buf);
}

/** `n` random bytes (see fillRandom). */
export function randomBytesOf(n: number): Buffer {
  const buf = Buffer.allocUnsafe(n);
  fillRandom(buf);
  return buf;
}
