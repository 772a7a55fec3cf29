import { basename, join } from 'node:path';
import { errnoCode, ioError } from '../core/model/errors.js';
import { nonce } from '../core/model/ids.js';
import { writeFileAtomic } from '../core/store/atomic-write.js';
import { quarantineFileName, whyFileName } from '../core/store/run-names.js';
import { relOf, type DaemonRun } from './daemon-run.js';

/** Files per batch directory (and per .why.json, which lists them). */
const BATCH_SIZE = 1000;

/**
 * Quarantine many files of one directory at a bounded cost: each batch of BATCH_SIZE goes into
 * one directory `quarantine/<dir>~<n>/`, with one `quarantine/<dir>~<n>.why.json` naming them
 * and saying why. Why not quarantineFile per file: a flood of 100,000 junk files would become
 * 100,000 more files (the .why.json of each) and 100,000 writes. Nothing is deleted.
 * The caller checks that quarantine/ is a real directory of the run first.
 */
export class QuarantineBatch {
  #names: string[] = [];
  #dir: string | undefined;
  #moved = 0;

  constructor(
    private readonly run: DaemonRun,
    private readonly from: string,
    private readonly reason: string,
  ) {}

  /** Files moved so far. */
  get moved(): number {
    return this.#moved;
  }

  /** Move `name` (an entry of the source directory) into the current batch. */
  async add(name: string): Promise<void> {
    const ctx = this.run.ctx;
    if (this.#dir === undefined) {
      this.#dir = join(ctx.paths.quarantine, quarantineFileName(basename(this.from), nonce()));
      try {
        await ctx.fs.mkdir(this.#dir);
      } catch (err) {
        throw ioError(err, 'creating directory', this.#dir);
      }
    }
    try {
      await ctx.fs.rename(join(this.from, name), join(this.#dir, name));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return;
      throw ioError(err, 'quarantining', join(this.from, name));
    }
    this.#names.push(name);
    this.#moved += 1;
    if (this.#names.length >= BATCH_SIZE) await this.flush();
  }

  /** Write the .why.json of the current batch (if it has files) and start a new one. */
  async flush(): Promise<void> {
    const dir = this.#dir;
    const names = this.#names;
    this.#dir = undefined;
    this.#names = [];
    if (dir === undefined) return;
    if (names.length === 0) {
      // Every file we meant to move was gone: no empty batch directory stays behind.
      await this.run.ctx.fs.rmdir(dir).catch(() => undefined);
      return;
    }
    const why = { dir: relOf(this.run, this.from), quarantined_as: relOf(this.run, dir), files: names, reason: this.reason, at: this.run.clock.now().toISOString() };
    await writeFileAtomic(this.run.ctx, join(this.run.ctx.paths.quarantine, whyFileName(basename(dir))), `${JSON.stringify(why, null, 2)}\n`);
    this.run.log({ action: 'quarantined', file: `${relOf(this.run, this.from)}/`, note: `${names.length} files (${this.reason}); moved to ${relOf(this.run, dir)}/` });
  }
}
