import { constants, type promises as fsp } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode, ioError } from '../core/model/errors.js';
import { ensureDir, type RunCtx } from '../core/store/run-context.js';
import { LOG_PART_SUFFIX, attemptLogFileName } from '../core/store/run-names.js';

/** Default cap of one attempt's log: what a program writes beyond it is counted, not kept (its last lines are). */
export const DEFAULT_LOG_CAP = 1024 * 1024;
/** How much of the end of an over-long stderr is kept after the cap's marker. */
const TAIL_KEPT = 8 * 1024;
/** Why O_EXCL and O_NOFOLLOW: an agent could plant a link named like our log; we never write through it. */
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * The stderr of one attempt, written while it runs to logs/<id>.<attempt>~<claim>.log.tmp
 * (`*.tmp` is git-ignored, and `tail -f` works on it) and published at the end as
 * logs/<id>.<attempt>.log, or logs/<id>.<attempt>~<claim>.log when that attempt was run
 * before (its first run was released). At most `cap` bytes; beyond, the count dropped and the
 * last lines. Why not in .tmp/: the daemon removes temp files a long attempt would still be
 * writing, and fsck reports them.
 */
export class AttemptLog {
  private written = 0;
  private dropped = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  private chain: Promise<void> = Promise.resolve();
  private failed: unknown;

  private constructor(
    private readonly ctx: RunCtx,
    private readonly handle: fsp.FileHandle,
    private readonly partPath: string,
    private readonly names: { first: string; again: string },
    private readonly cap: number,
  ) {}

  static async open(ctx: RunCtx, ticketId: string, attempt: number, claim: number, cap = DEFAULT_LOG_CAP): Promise<AttemptLog> {
    await ensureDir(ctx, ctx.paths.logs);
    const again = attemptLogFileName(ticketId, attempt, claim);
    const partPath = join(ctx.paths.logs, `${again.slice(0, -'.log'.length)}${LOG_PART_SUFFIX}`);
    let handle: fsp.FileHandle;
    try {
      handle = await open(partPath, CREATE_FLAGS, 0o644);
    } catch (err) {
      throw ioError(err, 'creating log', partPath);
    }
    return new AttemptLog(ctx, handle, partPath, { first: attemptLogFileName(ticketId, attempt), again }, cap);
  }

  /** Where the log is while the attempt runs. */
  get livePath(): string {
    return this.partPath;
  }

  /** A line of the worker's own (the command, how it ended), outside the cap. */
  note(text: string): void {
    this.append(Buffer.from(`# ${text}\n`));
  }

  write(chunk: Buffer): void {
    const room = Math.max(0, this.cap - this.written);
    if (room > 0) {
      const kept = chunk.length <= room ? chunk : chunk.subarray(0, room);
      this.written += kept.length;
      this.append(kept);
    }
    if (chunk.length > room) {
      this.dropped += chunk.length - room;
      this.keepTail(chunk.subarray(room));
    }
  }

  /**
   * End the log with `lastNote` (how the attempt ended) and publish it; its final path, or
   * undefined when it could not be written (the attempt goes on without it).
   */
  async close(lastNote?: string): Promise<string | undefined> {
    if (this.dropped > 0) {
      const tail = Buffer.concat(this.tail).subarray(-TAIL_KEPT);
      const cut = tail.indexOf(10);
      this.note(`stderr went over the ${this.cap}-byte log cap: ${this.dropped} more bytes were not logged; the last of them follow`);
      this.append(cut >= 0 && cut < tail.length - 1 ? tail.subarray(cut + 1) : tail);
    }
    if (lastNote !== undefined) this.note(lastNote);
    await this.chain;
    await this.handle.close().catch(() => undefined);
    if (this.failed !== undefined) {
      await this.ctx.fs.unlink(this.partPath).catch(() => undefined);
      return undefined;
    }
    for (const name of [this.names.first, this.names.again]) {
      const target = join(this.ctx.paths.logs, name);
      try {
        // Why link, not rename: link never replaces the log of an earlier run of this attempt.
        await this.ctx.fs.link(this.partPath, target);
        await this.ctx.fs.unlink(this.partPath).catch(() => undefined);
        return target;
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') break;
      }
    }
    return undefined;
  }

  private append(buf: Buffer): void {
    this.chain = this.chain.then(async () => {
      if (this.failed !== undefined) return;
      try {
        await this.handle.write(buf);
      } catch (err) {
        // A full disk must not fail the attempt: the log is a convenience, the output is the work.
        this.failed = err;
      }
    });
  }

  /** Keep at least the last TAIL_KEPT bytes of what went over the cap (compacted now and then). */
  private keepTail(buf: Buffer): void {
    this.tail.push(Buffer.from(buf));
    this.tailBytes += buf.length;
    if (this.tailBytes > TAIL_KEPT * 2) {
      const last = Buffer.concat(this.tail).subarray(-TAIL_KEPT);
      this.tail = [last];
      this.tailBytes = last.length;
    }
  }
}
