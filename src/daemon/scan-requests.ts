import type { Dir } from 'node:fs';
import { join } from 'node:path';
import { errnoCode, ioError } from '../core/model/errors.js';
import { REPLY_SUFFIX, REQUESTS_README_FILE_NAME, parseRequestFileName, parseTakenFileName } from '../core/store/run-names.js';
import { errorLogOf, linkedDirOnPath, noteOnce, relOf, type DaemonRun } from './daemon-run.js';
import { QuarantineBatch } from './quarantine-batch.js';
import { requestsDirIsReal, serveRequestLocked } from './serve-requests.js';

/**
 * Request files a run plausibly has at once: one per worker (file-only workers are agents, tens
 * or hundreds of them). Those seen beyond it in one scan are a flood: quarantined.
 */
export const MAX_OPEN_REQUESTS = 1024;
/** Requests (and taken ones) served by one scan; the rest waits for the next scan. */
export const REQUESTS_PER_SCAN = 256;
/** Files quarantined by one scan; a bigger flood drains over the next scans. */
export const QUARANTINED_PER_SCAN = 20_000;

/** What a name in requests/ is. */
type EntryKind = 'request' | 'taken' | 'ours' | 'junk';

function kindOf(name: string): EntryKind {
  if (parseTakenFileName(name) !== undefined) return 'taken';
  // Hidden names (editors' and agents' temp files) and our own files are left alone.
  if (name.startsWith('.') || name === REQUESTS_README_FILE_NAME) return 'ours';
  if (parseRequestFileName(name) !== undefined) return 'request';
  // Replies (<worker>.reply.json) are ours; parseRequestFileName refuses them.
  return name.endsWith(REPLY_SUFFIX) ? 'ours' : 'junk';
}

/** A scan in progress: its budgets and the batches it quarantines into. */
interface Scan {
  run: DaemonRun;
  dir: string;
  requests: number;
  served: number;
  /** Entries looked at for quarantine (an lstat each). */
  looked: number;
  /** Work left for a later scan (a budget ran out, or a file was too young to quarantine). */
  more: boolean;
  junk: QuarantineBatch | undefined;
  flood: QuarantineBatch | undefined;
}

/**
 * Serve requests/ by streaming it (opendir, in small batches: never a listing of every name at
 * once), at a bounded cost per scan: at most REQUESTS_PER_SCAN requests served, at most
 * QUARANTINED_PER_SCAN files quarantined (in batches); what is left waits for the next scan.
 * Names that are no request (`<worker-id>.json`), reply or README, and requests seen beyond
 * MAX_OPEN_REQUESTS, are quarantined once they are older than the settle time (an agent may be
 * writing them). Returns true when work was left for a later scan.
 */
export async function scanRequests(run: DaemonRun): Promise<boolean> {
  const dir = run.ctx.paths.requests;
  if (!(await requestsDirIsReal(run))) return false;
  let handle: Dir;
  try {
    handle = await run.ctx.fs.opendir(dir);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw ioError(err, 'listing', dir);
  }
  const canQuarantine = await quarantineIsReal(run);
  const scan: Scan = {
    run,
    dir,
    requests: 0,
    served: 0,
    looked: 0,
    more: false,
    junk: canQuarantine ? new QuarantineBatch(run, dir, 'not a request file (<worker-id>.json), nor anything else that belongs in requests/') : undefined,
    flood: canQuarantine ? new QuarantineBatch(run, dir, `more than ${MAX_OPEN_REQUESTS} request files at once: a flood (a worker whose request was among them writes it again)`) : undefined,
  };
  // Names the daemon remembers something about, for pruning that memory once the scan is done.
  const remembered = new Set<string>();
  try {
    for (let e = await handle.read(); e !== null; e = await handle.read()) {
      if (run.stopping) return true;
      await scanEntry(scan, e.name);
      // Why after: serving it may just have made the daemon remember it (a file settling).
      if (run.memory.remembers(join(dir, e.name))) remembered.add(e.name);
    }
  } finally {
    await handle.close().catch(() => undefined);
    await scan.junk?.flush();
    await scan.flood?.flush();
  }
  run.memory.prune(dir, remembered);
  return scan.more;
}

async function scanEntry(scan: Scan, name: string): Promise<void> {
  const kind = kindOf(name);
  if (kind === 'ours') return;
  if (kind === 'junk') return quarantineOld(scan, scan.junk, name);
  if (kind === 'request') {
    // Why: its event queued it to be served on its own (it may be a worker waiting right now).
    if (scan.run.queuedRequests.has(name)) return;
    scan.requests += 1;
    if (scan.requests > MAX_OPEN_REQUESTS) return quarantineOld(scan, scan.flood, name);
  }
  if (scan.served >= REQUESTS_PER_SCAN) {
    scan.more = true;
    return;
  }
  scan.served += 1;
  await serveRequestLocked(scan.run, name);
}

/** Quarantine `name` into `batch` unless a budget is spent or the file is still young. */
async function quarantineOld(scan: Scan, batch: QuarantineBatch | undefined, name: string): Promise<void> {
  if (batch === undefined) return;
  const moved = (scan.junk?.moved ?? 0) + (scan.flood?.moved ?? 0);
  // Why two budgets: renames, and lstats of files too young to move.
  if (moved >= QUARANTINED_PER_SCAN || scan.looked >= 2 * QUARANTINED_PER_SCAN) {
    scan.more = true;
    return;
  }
  scan.looked += 1;
  const path = join(scan.dir, name);
  try {
    const st = await scan.run.ctx.fs.lstat(path);
    // Why wall-clock ctime: an agent may be writing this file right now (a temp name of its
    // editor, a request in progress); ctime changes with every write, so a file unchanged for
    // the settle time is not being written. Only a grace period: nothing else depends on it.
    if (Date.now() - st.ctimeMs < scan.run.settle.fileMs) {
      scan.more = true;
      return;
    }
    await batch.add(name);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return;
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
