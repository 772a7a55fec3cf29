import { join } from 'node:path';
import { streamDirEntries } from '../core/store/atomic-write.js';
import { mapLimit } from '../core/store/run-pool.js';
import { errnoCode, ioError } from '../core/model/errors.js';
import { REPLY_SUFFIX, REQUESTS_README_FILE_NAME, parseRequestFileName, parseTakenFileName } from '../core/store/run-names.js';
import { errorLogOf, linkedDirOnPath, noteOnce, relOf, type DaemonRun } from './daemon-run.js';
import { NewestNames } from './newest-names.js';
import { QuarantineBatch } from './quarantine-batch.js';
import { requestsDirIsReal, serveRequestLocked } from './serve-requests.js';
import { isSweptReplyName, startReplySweep, sweepReply } from './sweep-replies.js';

/**
 * Request files a run plausibly has at once: one per worker (file-only workers are agents, tens
 * or hundreds of them). Older ones beyond it (by ctime) are a flood: quarantined.
 */
export const MAX_OPEN_REQUESTS = 1024;
/** Requests (and taken ones) served by one scan, newest first; the rest waits for the next scan. */
export const REQUESTS_PER_SCAN = 256;
/** Requests a scan serves at the same time (as many as events are served at once). */
const REQUESTS_SERVED_AT_ONCE = 8;
/** Files quarantined by one scan; a bigger flood drains over the next scans. */
export const QUARANTINED_PER_SCAN = 20_000;

/** What a name in requests/ is. */
type EntryKind = 'request' | 'taken' | 'reply' | 'ours' | 'junk';

function kindOf(name: string): EntryKind {
  if (parseTakenFileName(name) !== undefined) return 'taken';
  // Hidden names (editors' and agents' temp files) and our own files are left alone.
  if (name.startsWith('.') || name === REQUESTS_README_FILE_NAME) return 'ours';
  if (parseRequestFileName(name) !== undefined) return 'request';
  // Replies are ours; parseRequestFileName refuses them. Uniquely named ones are swept when old.
  if (isSweptReplyName(name)) return 'reply';
  return name.endsWith(REPLY_SUFFIX) ? 'ours' : 'junk';
}

/** A scan in progress: its budgets and the batches it quarantines into. */
interface Scan {
  run: DaemonRun;
  dir: string;
  /** Request files seen (not counting those queued from their events). */
  requests: number;
  served: number;
  /** Work left for a later scan (a budget ran out, or a file was too young to quarantine). */
  more: boolean;
  junk: QuarantineBatch | undefined;
  flood: QuarantineBatch | undefined;
  /** Names the daemon remembers something about, to prune that memory once the scan is done. */
  remembered: Set<string>;
  /** When this scan also sweeps old replies (sweep-replies.ts): how many it may still read. */
  replies: { budget: number } | undefined;
}

/**
 * Serve requests/ by streaming it (opendir, in small batches: never a listing of every name at
 * once), at a bounded cost per scan. The newest MAX_OPEN_REQUESTS request files (by ctime) are
 * the ones served, newest first (a worker waiting now is newer than a flood), at most
 * REQUESTS_PER_SCAN of them; older ones beyond that number are a flood and are quarantined, as
 * are names that are no request (`<worker-id>~<request-id>.json`), reply or README: at most
 * QUARANTINED_PER_SCAN per scan, in batches, once older than the settle time (an agent may be
 * writing them). Returns true when work was left for a later scan.
 */
export async function scanRequests(run: DaemonRun): Promise<boolean> {
  const dir = run.ctx.paths.requests;
  if (!(await requestsDirIsReal(run))) return false;
  const canQuarantine = await quarantineIsReal(run);
  const scan: Scan = {
    run,
    dir,
    requests: 0,
    served: 0,
    more: false,
    junk: canQuarantine ? new QuarantineBatch(run, dir, 'not a request file (<worker-id>~<request-id>.json), nor anything else that belongs in requests/') : undefined,
    flood: canQuarantine ? new QuarantineBatch(run, dir, `more than ${MAX_OPEN_REQUESTS} request files at once: a flood; the newest were kept (a worker whose request was among these writes it again)`) : undefined,
    remembered: new Set(),
    replies: startReplySweep(run),
  };
  try {
    const newest = new NewestNames(MAX_OPEN_REQUESTS);
    if (!(await streamNames(run, dir, (name) => rankEntry(scan, newest, name)))) return scan.more;
    // Why side by side: on a network filesystem a request costs several round trips to the
    // server; served one after another, the last of a few requests found by one poll waited for
    // all the others (seconds on sshfs). Each has its own lock; newest first still starts first.
    await mapLimit(newest.newestFirst(), REQUESTS_SERVED_AT_ONCE, async (name) => {
      if (!run.stopping) await serveWithin(scan, name);
    });
    if (run.stopping) return true;
    if (scan.requests > MAX_OPEN_REQUESTS) {
      const threshold = newest.oldestKept();
      if (!(await streamNames(run, dir, (name) => quarantineOlderRequest(scan, name, threshold)))) return scan.more;
    }
  } finally {
    await scan.junk?.flush();
    await scan.flood?.flush();
  }
  run.memory.prune(dir, scan.remembered);
  return scan.more;
}

/**
 * Call `fn` with each name in `dir`, streamed. False when the directory is gone or the daemon
 * is stopping (the listing was not complete).
 */
async function streamNames(run: DaemonRun, dir: string, fn: (name: string) => Promise<void>): Promise<boolean> {
  return streamDirEntries(run.ctx, dir, async (e) => {
    if (run.stopping) return false;
    await fn(e.name);
    return true;
  });
}

/** First pass: rank request files by age, quarantine junk names, serve taken files. */
async function rankEntry(scan: Scan, newest: NewestNames, name: string): Promise<void> {
  const kind = kindOf(name);
  if (kind === 'ours') return;
  if (kind === 'reply') {
    if (scan.replies !== undefined) await sweepReply(scan.run, scan.replies, name).catch((err: unknown) => noteOnce(scan.run, `sweep\0${name}`, { action: 'error', file: `requests/${name}`, note: 'could not remove this old reply', error: errorLogOf(err) }));
    return;
  }
  if (scan.run.memory.remembers(join(scan.dir, name))) scan.remembered.add(name);
  if (kind === 'junk') return quarantineOld(scan, scan.junk, name);
  if (kind === 'taken') return serveWithin(scan, name);
  // Why: its event queued it to be served on its own (it may be a worker waiting right now).
  if (scan.run.queuedRequests.has(name)) return;
  const st = await lstatIfPresent(scan, name);
  if (st === undefined) return;
  scan.requests += 1;
  newest.offer(name, st.ctimeMs);
}

/** Serve one entry unless this scan's budget is spent. */
async function serveWithin(scan: Scan, name: string): Promise<void> {
  if (scan.served >= REQUESTS_PER_SCAN) {
    scan.more = true;
    return;
  }
  scan.served += 1;
  await serveRequestLocked(scan.run, name);
  // Why after: serving it may just have made the daemon remember it (a file settling).
  if (scan.run.memory.remembers(join(scan.dir, name))) scan.remembered.add(name);
}

/** Second pass of a flooded directory: quarantine request files older than the newest MAX_OPEN_REQUESTS. */
async function quarantineOlderRequest(scan: Scan, name: string, threshold: number): Promise<void> {
  if (kindOf(name) !== 'request' || scan.run.queuedRequests.has(name)) return;
  const st = await lstatIfPresent(scan, name);
  if (st === undefined || st.ctimeMs >= threshold) return;
  await quarantineOld(scan, scan.flood, name, st.ctimeMs);
}

async function lstatIfPresent(scan: Scan, name: string): Promise<{ ctimeMs: number } | undefined> {
  try {
    return await scan.run.ctx.fs.lstat(join(scan.dir, name));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw ioError(err, 'checking', join(scan.dir, name));
  }
}

/**
 * Quarantine `name` into `batch` unless this scan's budget is spent or the file is still young
 * (`ctimeMs` when the caller has it).
 */
async function quarantineOld(scan: Scan, batch: QuarantineBatch | undefined, name: string, ctimeMs?: number): Promise<void> {
  if (batch === undefined) return;
  if ((scan.junk?.moved ?? 0) + (scan.flood?.moved ?? 0) >= QUARANTINED_PER_SCAN) {
    scan.more = true;
    return;
  }
  try {
    const ctime = ctimeMs ?? (await lstatIfPresent(scan, name))?.ctimeMs;
    if (ctime === undefined) return;
    // Why wall-clock ctime: an agent may be writing this file right now (a temp name of its
    // editor, a request in progress); ctime changes with every write, so a file unchanged for
    // the settle time is not being written. Only a grace period: nothing else depends on it.
    if (Date.now() - ctime < scan.run.settle.fileMs) {
      scan.more = true;
      return;
    }
    await batch.add(name);
  } catch (err) {
    noteOnce(scan.run, `quarantine\0${name}`, { action: 'error', file: `requests/${name}`, note: 'could not quarantine it; retried on the next scan', error: errorLogOf(err) });
  }
}

/** quarantine/ must be a real directory of the run: files moved there through a link would leave it. */
async function quarantineIsReal(run: DaemonRun): Promise<boolean> {
  const linked = await linkedDirOnPath(run.ctx, run.ctx.paths.quarantine);
  if (linked === undefined) return true;
  noteOnce(run, `linked\0${linked}`, { action: 'error', file: relOf(run, linked), note: `${relOf(run, linked)} is not a real directory (a symbolic link?): nothing is quarantined until it is one` });
  return false;
}
