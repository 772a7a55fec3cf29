import * as fs from 'node:fs';
import type { Dir } from 'node:fs';

/**
 * Promises over node:fs's callback API, for the calls that must not block (they wait for the
 * disk or may be slow): the same thread-pool calls fs/promises makes. Why not fs/promises:
 * loading it (with the readline and watcher modules it pulls in) cost ~1.5 ms of every one-shot
 * `tq` command, and FileHandle objects add a finalizer each.
 */
function settle<T>(resolve: (v: T) => void, reject: (e: unknown) => void): (err: NodeJS.ErrnoException | null, value: T) => void {
  return (err, value) => (err ? reject(err) : resolve(value));
}

export const openAsync = (path: string, flags: string | number): Promise<number> => new Promise((res, rej) => fs.open(path, flags, settle(res, rej)));
export const closeAsync = (fd: number): Promise<void> => new Promise((res, rej) => fs.close(fd, (err) => (err ? rej(err) : res())));
export const fsyncAsync = (fd: number): Promise<void> => new Promise((res, rej) => fs.fsync(fd, (err) => (err ? rej(err) : res())));
export const fstatAsync = (fd: number): Promise<fs.Stats> => new Promise((res, rej) => fs.fstat(fd, settle(res, rej)));
export const renameAsync = (from: string, to: string): Promise<void> => new Promise((res, rej) => fs.rename(from, to, (err) => (err ? rej(err) : res())));
export const unlinkAsync = (path: string): Promise<void> => new Promise((res, rej) => fs.unlink(path, (err) => (err ? rej(err) : res())));
export const readdirAsync = (path: string): Promise<string[]> => new Promise((res, rej) => fs.readdir(path, settle(res, rej)));
export const opendirAsync = (path: string, bufferSize: number): Promise<Dir> => new Promise((res, rej) => fs.opendir(path, { bufferSize }, settle(res, rej)));

/** Read into `buf` from the current position: the number of bytes read. */
export const readAsync = (fd: number, buf: Buffer, length: number): Promise<number> => new Promise((res, rej) => fs.read(fd, buf, 0, length, null, settle(res, rej)));
