import { join } from 'node:path';
import { isTqError } from '../core/model/errors.js';
import { cleanId, validateId } from '../core/model/ids.js';
import { claimTicket } from '../core/ops/claim-ticket.js';
import { quarantineFile } from '../core/store/quarantine.js';
import { unlinkIfExists } from '../core/store/atomic-write.js';
import { AgentFileKind, REPLY_SUFFIX, agentFileName, isSafeBaseName, parseRequestFileName, replyFileName, requestFileName, ticketFileName } from '../core/store/run-names.js';
import { claimedDir, pathExists, stateDir } from '../core/store/run-context.js';
import { TicketState } from '../core/model/states.js';
import type { ClaimRequest } from '../core/model/file-protocol-schema.js';
import { agentError, agentErrorOf, unreadableError, type AgentError } from './agent-error.js';
import { writeClaimReply, type ClaimReply } from './answer-agent.js';
import { removeUnchanged, restoreStaleTaken, takeUnchanged } from './consume-agent-file.js';
import { errorLogOf, isRegularFile, linkedDirOnPath, noteOnce, nowMs, relOf, type DaemonRun } from './daemon-run.js';
import { parseAgentJson } from './parse-agent-json.js';
import { readAgentFile } from './read-agent-file.js';
import { originalOfTaken } from './take-file.js';
import { retryAfterMs } from './retry-after.js';

/**
 * Answer the claim requests of file-only workers: `requests/<worker-id>.json` gets a reply in
 * `requests/<worker-id>.reply.json`, then the request is removed. One file at a time: a
 * watcher event names the file (serveRequestFile); the periodic scan (scan-requests.ts) finds
 * the rest, and floods.
 */

/** The lock a daemon holds while it serves one request file (an event and a scan never both serve it). */
export function requestLockKey(name: string): string {
  return `request\0${name}`;
}

/** `<valid-worker-id>.json`: a request an event may serve on its own. */
export function isServableRequestName(name: string): boolean {
  const worker = parseRequestFileName(name);
  if (worker === undefined || !isSafeBaseName(worker, REPLY_SUFFIX)) return false;
  try {
    validateId(worker, 'worker id');
    return true;
  } catch {
    return false;
  }
}

/**
 * requests/ is written into (replies) and moved out of: it must be a real directory of the run
 * (logged once when it is not; nothing is served then).
 */
export async function requestsDirIsReal(run: DaemonRun): Promise<boolean> {
  const linked = await linkedDirOnPath(run.ctx, run.ctx.paths.requests);
  if (linked === undefined) return true;
  noteOnce(run, `linked\0${linked}`, { action: 'error', file: relOf(run, linked), note: `${relOf(run, linked)} is not a real directory (a symbolic link?): no request is served until it is one` });
  return false;
}

/** Serve the one request file a watcher event named (no listing of requests/). */
export async function serveRequestFile(run: DaemonRun, name: string): Promise<void> {
  if (!isServableRequestName(name) || !(await requestsDirIsReal(run))) return;
  await serveRequestLocked(run, name);
}

/** Serve one entry of requests/ (a request or a taken one), under its lock; errors are logged. */
export async function serveRequestLocked(run: DaemonRun, name: string): Promise<void> {
  const dir = run.ctx.paths.requests;
  await run.locks.with(requestLockKey(originalOfTaken(name) ?? name), async () => {
    try {
      await serveRequestEntry(run, dir, name);
    } catch (err) {
      run.log({ action: 'error', file: `requests/${name}`, error: errorLogOf(err) });
    }
  });
}

async function serveRequestEntry(run: DaemonRun, dir: string, name: string): Promise<void> {
  const original = originalOfTaken(name);
  if (original !== undefined) return restoreStaleTaken(run, dir, name, original);
  const rawWorker = parseRequestFileName(name);
  if (rawWorker === undefined) return;
  const path = join(dir, name);
  const rel = `requests/${name}`;
  if (!isSafeBaseName(rawWorker, REPLY_SUFFIX)) {
    // No reply can be written under a name derived from this one: keep the file for a human.
    const q = await quarantineFile(run.ctx, path, `${rel}: the file name is not usable as a worker id, and no reply file can be named after it`);
    if (q) run.log({ action: 'quarantined', file: rel, note: `unusable request file name; moved to ${q}` });
    return;
  }
  const read = await readAgentFile(run.ctx.fs, path);
  if (read.kind === 'gone') return run.memory.forget(path);
  if (read.kind !== 'text') {
    const error = unreadableError(read, rel);
    await writeClaimReply(run, rawWorker, errorReply(null, error));
    await quarantineFile(run.ctx, path, error.message);
    run.log({ action: 'request refused', worker_id: rawWorker, file: rel, error: { code: error.code, message: error.message } });
    return;
  }
  if (run.memory.wasAnswered(path, read.fingerprint)) return;
  const parsed = parseAgentJson('request', read.text, read.binary, rel);
  if (!parsed.ok) {
    if (parsed.unparseable && !run.memory.hasSettled(path, read.fingerprint, nowMs(run), run.settle.fileMs)) return;
    return refuse(run, dir, name, rawWorker, read.fingerprint, requestIdIn(read.text), parsed.error);
  }
  const request = parsed.value;
  const requestId = request.request_id ?? null;
  try {
    validateId(rawWorker, 'worker id');
  } catch (err) {
    return refuse(run, dir, name, rawWorker, read.fingerprint, requestId, { ...agentErrorOf(err), message: `${rel}: the file name must be ${requestFileName('<worker-id>')}: ${(err as Error).message}` });
  }
  if (await alreadyAnswered(run, rawWorker, requestId)) {
    // A daemon died after replying but before removing the request: do not claim twice.
    await removeUnchanged(run, dir, name, read.fingerprint);
    run.log({ action: 'request already answered', worker_id: rawWorker, note: `request_id ${requestId}` });
    return;
  }
  const taken = await takeUnchanged(run, dir, name, read.fingerprint);
  if (taken === undefined) return;
  const reply = await claimFor(run, rawWorker, request);
  await writeClaimReply(run, rawWorker, reply);
  // Why: removed only after the reply exists; a crash in between leaves the .taken file, which
  // is put back and then recognised by alreadyAnswered().
  await unlinkIfExists(run.ctx, taken);
  run.log({
    action: reply.status === 'claimed' ? 'claimed' : reply.status === 'empty' ? 'nothing to claim' : reply.status === 'paused' ? 'paused' : 'request refused',
    worker_id: rawWorker,
    ...(reply.ticket_id ? { ticket_id: reply.ticket_id } : {}),
    ...(reply.error ? { error: { code: reply.error.code, message: reply.error.message } } : { note: `stage ${request.stage}${requestId ? `, request_id ${requestId}` : ''}` }),
  });
}

async function claimFor(run: DaemonRun, worker: string, request: ClaimRequest): Promise<Omit<ClaimReply, 'at'>> {
  const requestId = request.request_id ?? null;
  try {
    const linked = await linkedDirOnPath(run.ctx, stateDir(run.ctx, TicketState.pending, cleanId(request.stage, 'stage'))) ?? (await linkedDirOnPath(run.ctx, claimedDir(run.ctx, worker)));
    if (linked !== undefined) {
      // Why refuse: a claim moves a ticket out of pending/<stage>/ into claimed/<worker>/; through a link that is outside the run.
      return errorReply(requestId, agentError('WRONG_STATE', `${relOf(run, linked)} is not a real directory (a symbolic link?): nothing can be claimed through it`, undefined, 'tell the operator (`tq fsck` reports it); ask again later'));
    }
    const dir = claimedDir(run.ctx, worker);
    const hadDir = await pathExists(run.ctx, dir);
    const r = await claimTicket(run.ctx, { stage: request.stage, workerId: worker, ...(request.lease !== undefined ? { lease: request.lease } : {}) }).catch(async (err: unknown) => {
      if (!hadDir) await dropEmptyWorkerDir(run, dir);
      throw err;
    });
    if (!r) {
      if (!hadDir) await dropEmptyWorkerDir(run, dir);
      return { request_id: requestId, status: 'empty', ticket_id: null, ticket_path: null, result_path: null, retry_after_ms: retryAfterMs(), message: `no pending ${request.stage} tickets right now; ask again later` };
    }
    const id = r.ticket.ticket_id;
    const ticketPath = `${TicketState.claimed}/${worker}/${ticketFileName(id)}`;
    const resultPath = `${TicketState.claimed}/${worker}/${agentFileName(id, AgentFileKind.result)}`;
    return {
      request_id: requestId,
      status: 'claimed',
      ticket_id: id,
      ticket_path: ticketPath,
      result_path: resultPath,
      lease_expires_at: r.ticket.claim?.lease_expires_at ?? '',
      message: `claimed ${id} until ${r.ticket.claim?.lease_expires_at}: read ${ticketPath}, then write ${resultPath}`,
    };
  } catch (err) {
    // Why its own status: a pause is no error of the agent's; it should wait and ask again.
    if (isTqError(err, 'PAUSED')) return { request_id: requestId, status: 'paused', ticket_id: null, ticket_path: null, result_path: null, retry_after_ms: retryAfterMs(), message: `${err.message}; ask again later` };
    // Why: disk trouble is not the agent's fault; the .taken file is put back and retried.
    if (!isTqError(err) || err.code === 'IO_ERROR') throw err;
    return errorReply(requestId, agentErrorOf(err));
  }
}

/**
 * Remove a claimed/<worker>/ directory a claim made but did not use. Why: claimTicket makes it
 * before it knows whether there is work; requests that got nothing must not leave a directory
 * (and a watcher) behind for every worker id anyone cares to invent (a flood of requests).
 * RACE: rmdir fails on a directory that is not empty; a claimer of the same worker that made
 * it meanwhile and renames into it now finds it gone and makes it again (intoDir).
 */
async function dropEmptyWorkerDir(run: DaemonRun, dir: string): Promise<void> {
  try {
    await run.ctx.fs.rmdir(dir);
    run.ctx.madeDirs.delete(dir);
  } catch {
    // Not empty (a ticket is there), or already gone: nothing to do.
  }
}

function errorReply(requestId: string | null, error: AgentError): Omit<ClaimReply, 'at'> {
  return { request_id: requestId, status: 'error', ticket_id: null, ticket_path: null, result_path: null, message: error.message, error };
}

/** Reply with an error, then remove the request (the agent writes a new one). */
async function refuse(run: DaemonRun, dir: string, name: string, worker: string, fingerprint: string, requestId: string | null, error: AgentError): Promise<void> {
  await writeClaimReply(run, worker, errorReply(requestId, error));
  run.memory.markAnswered(join(dir, name), fingerprint, nowMs(run));
  await removeUnchanged(run, dir, name, fingerprint);
  run.log({ action: 'request refused', worker_id: worker, file: `requests/${name}`, error: { code: error.code, message: error.message } });
}

/** Did we already claim for this request_id, and does the worker still hold that ticket? */
async function alreadyAnswered(run: DaemonRun, worker: string, requestId: string | null): Promise<boolean> {
  if (requestId === null) return false;
  // Why readAgentFile: the reply file is writable by agents too (a FIFO there must not hang us).
  const read = await readAgentFile(run.ctx.fs, join(run.ctx.paths.requests, replyFileName(worker))).catch(() => undefined);
  if (read?.kind !== 'text') return false;
  let prior: Partial<ClaimReply>;
  try {
    prior = JSON.parse(read.text) as Partial<ClaimReply>;
  } catch {
    return false;
  }
  if (prior.request_id !== requestId || prior.status !== 'claimed' || typeof prior.ticket_id !== 'string') return false;
  try {
    // Why: the reply file is writable by agents too; never build a path from it unchecked.
    validateId(prior.ticket_id, 'ticket id');
  } catch {
    return false;
  }
  return isRegularFile(run.ctx.fs, join(claimedDir(run.ctx, worker), ticketFileName(prior.ticket_id)));
}

/** The request_id of a request that failed validation, so the agent can match the reply. */
function requestIdIn(text: string): string | null {
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v === 'object' && v !== null && typeof (v as Record<string, unknown>).request_id === 'string') return (v as Record<string, string>).request_id ?? null;
  } catch {
    // not JSON: no request_id to echo
  }
  return null;
}
