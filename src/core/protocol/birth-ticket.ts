import { dirname, join } from 'node:path';
import { errnoCode, ioError } from '../model/errors.js';
import { nonce } from '../model/ids.js';
import { ensureDir, ensureParent, intoDir, type RunCtx } from '../store/run-context.js';
import { MovingKind, isMovingFileOf, movingFileName, parseMovingFileName, ticketFileName } from '../store/run-names.js';
import { TicketState } from '../model/states.js';
import { parseTicket, serializeTicket } from '../model/serialize-ticket.js';
import { isBirthRecordOf, serializeBirthRecord } from '../model/birth-record.js';
import type { Ticket } from '../model/ticket-schema.js';
import { checkTicketLocation, pathOfLocation, pendingLocationOf, stateLocation } from '../store/ticket-location.js';
import { createFileExclusive, linkTempExclusive, listDir, writeTempFor, readIfExists, syncDirIfDurable, unlinkIfExists } from '../store/atomic-write.js';

export function registryPath(ctx: RunCtx, stage: string, ticketId: string): string {
  return join(ctx.paths.registry, stage, ticketFileName(ticketId));
}

export type BirthOutcome = 'created' | 'exists';

export interface BirthOptions {
  /**
   * Group commit (durable runs): the directories this birth would fsync at its end are added
   * here instead, and the caller fsyncs each once for a whole batch (ops/birth-batches.ts)
   * before it reports any of the batch as created.
   */
  deferSync?: Set<string>;
}

/**
 * Create a ticket in pending/ exactly once per id, across crashes and concurrent creators:
 *
 *   1. write the ticket to moving/<id>~<n>.new.json
 *   2. create registry/<stage>/<id>.json (its birth record)   <- O_EXCL: the first creator wins
 *   3. rename moving/<id>~<n>.new.json into pending/
 *
 * The registry keeps every ticket as it was born, so fsck can prove none was lost. A crash
 * after 2 leaves a .new file whose ticket is the one the birth record describes: recovery
 * publishes it. (A birth record is the ticket without `status`, marked `"record": "birth"`:
 * model/birth-record.ts.)
 * A .new file without a matching registry entry was never registered: recovery removes it.
 */
export async function birthTicket(ctx: RunCtx, ticket: Ticket, opts: BirthOptions = {}): Promise<BirthOutcome> {
  // Why: every path below comes from the validated id (INVALID_ID otherwise), and the ticket
  // must say the same (its stage, status pending) before anything is written.
  // Why its own lane: a ticket born with a priority or a not_before waits in that lane.
  const loc = pendingLocationOf(ticket.ticket_id, ticket);
  const target = pathOfLocation(ctx, loc);
  checkTicketLocation(ticket, loc, target);
  const reg = registryPath(ctx, loc.stage, loc.ticketId);
  const staged = join(ctx.paths.moving, movingFileName(loc.ticketId, nonce(), MovingKind.new));
  const text = serializeTicket(ticket);
  const record = serializeBirthRecord(ticket);
  await ensureDir(ctx, ctx.paths.moving);
  const writeStaged = async (): Promise<void> => {
    try {
      await intoDir(ctx, ctx.paths.moving, () => ctx.fs.writeFileExclusive(staged, text, ctx.durable));
    } catch (err) {
      throw ioError(err, 'writing', staged);
    }
  };
  let registered: boolean;
  try {
    // RACE: created with link (O_EXCL) from its own temp file: EEXIST for every creator but
    // the first. Why its own copy and not a link to the staged file: a hard link would share
    // the inode with pending/<id>.json, and anyone editing that file in place (an editor, an
    // agent's write tool) would rewrite the birth record fsck restores lost tickets from.
    if (ctx.durable) {
      // Why the two writes in parallel when durable: each waits for its own fsync, and the
      // files are independent until the link, which still comes after both (the states a
      // crash can leave are the same as in sequence).
      const [stagedWrite, tmpWrite] = await Promise.allSettled([writeStaged(), writeTempFor(ctx, reg, record)]);
      if (stagedWrite.status === 'rejected' || tmpWrite.status === 'rejected') {
        if (tmpWrite.status === 'fulfilled') await ctx.fs.unlink(tmpWrite.value).catch(() => undefined);
        throw stagedWrite.status === 'rejected' ? stagedWrite.reason : (tmpWrite as PromiseRejectedResult).reason;
      }
      registered = await linkTempExclusive(ctx, tmpWrite.value, reg);
    } else {
      await writeStaged();
      registered = await createFileExclusive(ctx, reg, record);
    }
  } catch (err) {
    await unlinkIfExists(ctx, staged).catch(() => undefined);
    throw ioError(err, 'registering', reg);
  }
  if (!registered) {
    await unlinkIfExists(ctx, staged).catch(() => undefined);
    await publishStrandedBirth(ctx, loc.stage, loc.ticketId);
    return 'exists';
  }
  await ensureParent(ctx, target);
  try {
    await intoDir(ctx, dirname(target), () => ctx.fs.rename(staged, target), staged);
  } catch (err) {
    // RACE: a recoverer may have published our registered ticket for us (see below).
    if (errnoCode(err) !== 'ENOENT') throw ioError(err, 'publishing', target);
  }
  if (ctx.durable && opts.deferSync) {
    // Why moving/ too: the staged file left it; the batch's one fsync makes that durable as well.
    for (const dir of [dirname(reg), dirname(target), ctx.paths.moving]) opts.deferSync.add(dir);
  } else if (ctx.durable) {
    // Why both at once: independent directories; each fsync waits for a journal commit.
    await Promise.all([syncDirIfDurable(ctx, dirname(reg)), syncDirIfDurable(ctx, dirname(target))]);
  }
  return 'created';
}

/** The lane part of where the staged birth `text` is published (none when it does not parse: publish where it always went). */
function laneLocationOf(text: string, file: string, ticketId: string): { lane?: string } {
  try {
    const lane = pendingLocationOf(ticketId, parseTicket(text, file));
    return lane.state === TicketState.pending && lane.lane !== undefined ? { lane: lane.lane } : {};
  } catch {
    return {};
  }
}

/**
 * A registered ticket whose publish step never happened (its creator died between steps 2 and
 * 3) sits in moving/ as <id>~<n>.new.json holding the ticket its birth record describes: publish it.
 * Returns true if it published one.
 */
export async function publishStrandedBirth(ctx: RunCtx, stage: string, ticketId: string): Promise<boolean> {
  const loc = stateLocation(TicketState.pending, ticketId);
  if (loc.stage !== stage) return false;
  const names = (await listDir(ctx, ctx.paths.moving)).filter((n) => isMovingFileOf(n, ticketId) && parseMovingFileName(n)?.kind === MovingKind.new);
  if (names.length === 0) return false;
  const reg = registryPath(ctx, stage, ticketId);
  const registered = await readIfExists(ctx, reg);
  let published = false;
  for (const name of names) {
    const staged = join(ctx.paths.moving, name);
    const text = await readIfExists(ctx, staged);
    if (text === undefined) continue;
    if (!published && isStagedBirthOf(registered, text, staged)) {
      // Why the lane from the staged ticket: it is the ticket its birth record describes.
      const target = pathOfLocation(ctx, { ...loc, ...laneLocationOf(text, staged, loc.ticketId) });
      await ensureParent(ctx, target);
      try {
        // RACE: two recoverers may both try; rename of a vanished source fails, never duplicates.
        await intoDir(ctx, dirname(target), () => ctx.fs.rename(staged, target), staged);
        published = true;
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw ioError(err, 'publishing', target);
      }
    }
  }
  return published;
}

/** Is the staged text `text` (at `file`) the ticket whose birth record is `registered`? */
function isStagedBirthOf(registered: string | undefined, text: string, file: string): boolean {
  if (registered === undefined) return false;
  try {
    return isBirthRecordOf(registered, parseTicket(text, file), text);
  } catch {
    // Why: a torn or foreign staged file is no birth of this ticket; recovery deals with it.
    return false;
  }
}
