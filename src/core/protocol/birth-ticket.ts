import { dirname, join } from 'node:path';
import { errnoCode, ioError } from '../model/errors.js';
import { nonce } from '../model/ids.js';
import { ensureDir, ensureParent, intoDir, type RunCtx } from '../store/run-context.js';
import { MovingKind, isMovingFileOf, movingFileName, parseMovingFileName, ticketFileName } from '../store/run-names.js';
import { TicketState } from '../model/states.js';
import { parseTicket, serializeTicket } from '../model/serialize-ticket.js';
import { isBirthRecordOf } from '../model/birth-record.js';
import type { Ticket } from '../model/ticket-schema.js';
import { checkTicketLocation, pathOfLocation, pendingLocationOf, stateLocation } from '../store/ticket-location.js';
import { listDir, readIfExists, syncDirIfDurable, unlinkIfExists } from '../store/atomic-write.js';

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
 *   1. write the ticket to moving/<id>~<n>.new.json (O_EXCL; fsynced in a durable run)
 *   2. create registry/<stage>/<id>.json (its birth record: the same text) with O_EXCL
 *      <- EEXIST: the first creator wins
 *   3. rename moving/<id>~<n>.new.json into pending/
 *
 * The registry keeps every ticket as it was born (status pending), so fsck can prove none was
 * lost. Why its own file, not a hard link to the staged one (one creation fewer): the two
 * would share an inode while the ticket is pending, and anyone writing pending/<id>.json in
 * place (an agent's write tool; vim writes a file with several links in place) would rewrite
 * the record fsck restores a damaged ticket from. Why O_EXCL straight into registry/, not a
 * temp file linked there: two calls fewer; a crash mid-write leaves a torn record beside the
 * complete staged ticket, which recovery completes from it (recover-moving.ts).
 * What it relies on: O_EXCL's EEXIST and rename's atomicity. An EEXIST is never "ours" here,
 * even with our exact text: an exclusive create that failed wrote nothing, so that text is
 * another creator's identical birth (NFS clients replay a retried exclusive create themselves).
 * A .new file without a matching registry entry was never registered: recovery removes it.
 * Records written by older versions (`"record": "birth"`, no status) are read too.
 */
export async function birthTicket(ctx: RunCtx, ticket: Ticket, opts: BirthOptions = {}): Promise<BirthOutcome> {
  // Why: every path below comes from the validated id (INVALID_ID otherwise), and the ticket
  // must say the same (its stage, status pending) before anything is written.
  // Why its own lane: a ticket born with a priority or a not_before waits in that lane.
  const loc = pendingLocationOf(ticket.ticket_id, ticket);
  const target = pathOfLocation(ctx, loc);
  checkTicketLocation(ticket, loc, target);
  // Why templates, not join (registryPath): the parts are validated ids, and join's normalising
  // showed in a create profile.
  const reg = `${ctx.paths.registry}/${loc.stage}/${ticketFileName(loc.ticketId)}`;
  const staged = `${ctx.paths.moving}/${movingFileName(loc.ticketId, nonce(), MovingKind.new)}`;
  // Why once: the staged ticket and its record are the same text.
  const text = serializeTicket(ticket);
  await ensureDir(ctx, ctx.paths.moving);
  try {
    await intoDir(ctx, ctx.paths.moving, () => ctx.fs.writeFileExclusive(staged, text, ctx.durable));
  } catch (err) {
    throw ioError(err, 'writing', staged);
  }
  if (!(await registerBirth(ctx, staged, reg, text))) {
    await unlinkIfExists(ctx, staged).catch(() => undefined);
    await publishStrandedBirth(ctx, loc.stage, loc.ticketId);
    return 'exists';
  }
  // Why before publishing (durable runs): a ticket in pending/ whose record a power cut lost
  // could be born a second time.
  await syncDirIfDurable(ctx, dirname(reg));
  await ensureParent(ctx, target);
  try {
    await intoDir(ctx, dirname(target), () => ctx.fs.rename(staged, target), staged);
  } catch (err) {
    // RACE: a recoverer may have published our registered ticket for us (see below).
    if (errnoCode(err) !== 'ENOENT') throw ioError(err, 'publishing', target);
  }
  if (ctx.durable && opts.deferSync) {
    // Why moving/ too: the staged file left it; the batch's one fsync makes that durable as well.
    // (The record's directory was synced above, per birth: it must be durable before the publish.)
    for (const dir of [dirname(target), ctx.paths.moving]) opts.deferSync.add(dir);
  } else {
    await syncDirIfDurable(ctx, dirname(target));
  }
  return 'created';
}

/**
 * Step 2 of a birth: create the record (O_EXCL; fsynced in a durable run). False when the id is
 * registered already (EEXIST). The staged file is removed on any other failure.
 */
async function registerBirth(ctx: RunCtx, staged: string, reg: string, text: string): Promise<boolean> {
  try {
    await ensureParent(ctx, reg);
    // RACE: EEXIST for every creator but the first.
    await intoDir(ctx, dirname(reg), () => ctx.fs.writeFileExclusive(reg, text, ctx.durable));
    return true;
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') return false;
    await unlinkIfExists(ctx, staged).catch(() => undefined);
    throw ioError(err, 'registering', reg);
  }
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
