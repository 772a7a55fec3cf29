import { join } from 'node:path';
import { isTqError } from '../core/model/errors.js';
import { cleanId, validateId } from '../core/model/ids.js';
import { claimTicket } from '../core/ops/claim-ticket.js';
import { quarantineFile } from '../core/store/quarantine.js';
import { unlinkIfExists } from '../core/store/atomic-write.js';
import { REPLY_SUFFIX, TICKET_SUFFIX, isSafeBaseName, parseRequestFileName, replyNameOfRequest, requestFileName, ticketFileName } from '../core/store/run-names.js';
import { claimedDir, pathExists, stateDir } from '../core/store/run-context.js';
import { TicketState } from '../core/model/states.js';
import type { ClaimRequest } from '../core/model/file-protocol-schema.js';
import { agentError, agentErrorOf, unreadableError, type AgentError } from './agent-error.js';
import { claimedReply, deprecationNote, readReply, writeClaimReply, type ClaimReply } from './answer-agent.js';
import { removeUnchanged, takeUnchanged } from './consume-agent-file.js';
import { errorLogOf, isRegularFile, linkedDirOnPath, noteOnce, nowMs, relOf, type DaemonRun } from './daemon-run.js';
import { parseAgentJson } from './parse-agent-json.js';
import { readAgentFile } from './read-agent-file.js';
import { originalOfTaken } from './take-file.js';
import { retryAfterMs } from './retry-after.js';
import { serveTakenRequest } from './recover-request.js';

/**
 * Answer the claim requests of file-only workers: `requests/<worker-id>~<request-id>.json` gets
 * a reply in `requests/<worker-id>~<request-id>.reply.json`, then the request is removed (the
 * agent removes the reply once read; sweep-replies.ts removes those it leaves). The deprecated
 * `requests/<worker-id>.json` is still answered, in `<worker-id>.reply.json`, with a
 * `deprecated` note. One file at a time: a watcher event names the file (serveRequestFile); the
 * periodic scan (scan-requests.ts) finds the rest, and floods.
 */

/** One request file being served. */
interface Req {
  dir: string;
  name: string;
  rel: string;
  rawWorker: string;
  /** From the name; undefined for the deprecated `<worker>.json`. */
  nameRequestId: string | undefined;
  replyName: string;
}

/** The lock a daemon holds while it serves one request file (an event and a scan never both serve it). */
export function requestLockKey(name: string): string {
  return `request\0${name}`;
}

/** `<valid-worker-id>~<valid-request-id>.json` (or `<valid-worker-id>.json`): a request an event may serve on its own. */
export function isServableRequestName(name: string): boolean {
  const req = parseRequestFileName(name);
  if (req === undefined || !isSafeBaseName(name.slice(0, -TICKET_SUFFIX.length), REPLY_SUFFIX)) return false;
  try {
    validateId(req.rawWorker, 'worker id');
    if (req.rawRequestId !== undefined) validateId(req.rawRequestId, 'request id');
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
  if (original !== undefined) return serveTakenRequest(run, dir, name, original);
  const parsedName = parseRequestFileName(name);
  if (parsedName === undefined) return;
  const path = join(dir, name);
  const req: Req = { dir, name, rel: `requests/${name}`, rawWorker: parsedName.rawWorker, nameRequestId: parsedName.rawRequestId, replyName: replyNameOfRequest(name) };
  if (!isSafeBaseName(name.slice(0, -TICKET_SUFFIX.length), REPLY_SUFFIX)) {
    // No reply can be written under a name derived from this one: keep the file for a human.
    const q = await quarantineFile(run.ctx, path, `${req.rel}: the file name is not usable as a worker id and request id, and no reply file can be named after it`);
    if (q) run.log({ action: 'quarantined', file: req.rel, note: `unusable request file name; moved to ${q}` });
    return;
  }
  const read = await readAgentFile(run.ctx.fs, path);
  if (read.kind === 'gone') return run.memory.forget(path);
  if (read.kind !== 'text') {
    const error = unreadableError(read, req.rel);
    await reply(run, req, errorReply(req.nameRequestId ?? null, error));
    await quarantineFile(run.ctx, path, error.message);
    run.log({ action: 'request refused', worker_id: req.rawWorker, file: req.rel, error: { code: error.code, message: error.message } });
    return;
  }
  if (run.memory.wasAnswered(path, read.fingerprint)) return;
  const parsed = parseAgentJson('request', read.text, read.binary, req.rel);
  if (!parsed.ok) {
    if (parsed.unparseable && !run.memory.hasSettled(path, read.fingerprint, nowMs(run), run.settle.fileMs)) return;
    return refuse(run, req, read.fingerprint, req.nameRequestId ?? requestIdIn(read.text), parsed.error);
  }
  const request = parsed.value;
  const requestId = req.nameRequestId ?? request.request_id ?? null;
  const wrong = nameProblem(req, request);
  if (wrong !== undefined) return refuse(run, req, read.fingerprint, requestId, wrong);
  if (await alreadyAnswered(run, req, requestId)) {
    // A daemon died after replying but before removing the request: do not claim twice.
    await removeUnchanged(run, dir, name, read.fingerprint);
    run.log({ action: 'request already answered', worker_id: req.rawWorker, note: `request_id ${requestId}` });
    return;
  }
  // Why stamped: a daemon that dies between the claim and the reply leaves this taken file with
  // the time of the take; the next one finds the claim by it (recover-request.ts).
  const taken = await takeUnchanged(run, dir, name, read.fingerprint, true);
  if (taken === undefined) return;
  const answer = await claimFor(run, req.rawWorker, request, requestId, req.nameRequestId);
  await reply(run, req, answer);
  // Why: removed only after the reply exists; a crash in between leaves the .taken file, which
  // is put back and then recognised by alreadyAnswered().
  await unlinkIfExists(run.ctx, taken);
  run.log({
    action: answer.status === 'claimed' ? 'claimed' : answer.status === 'empty' ? 'nothing to claim' : answer.status === 'paused' ? 'paused' : 'request refused',
    worker_id: req.rawWorker,
    ...(answer.ticket_id ? { ticket_id: answer.ticket_id } : {}),
    ...(answer.error ? { error: { code: answer.error.code, message: answer.error.message } } : { note: `stage ${request.stage}${requestId ? `, request_id ${requestId}` : ''}` }),
  });
}

/** What is wrong with the request's name (its worker id, its request id, or a request_id inside that differs), if anything. */
function nameProblem(req: Req, request: ClaimRequest): AgentError | undefined {
  try {
    validateId(req.rawWorker, 'worker id');
    if (req.nameRequestId !== undefined) validateId(req.nameRequestId, 'request id');
  } catch (err) {
    return { ...agentErrorOf(err), message: `${req.rel}: the file name must be ${requestFileName('<worker-id>', '<request-id>')}: ${(err as Error).message}` };
  }
  if (req.nameRequestId !== undefined && request.request_id !== undefined && request.request_id !== req.nameRequestId) {
    return agentError('INVALID_INPUT', `${req.rel}: request_id ${JSON.stringify(request.request_id)} differs from the one in the file name (${req.nameRequestId})`, 'request_id', 'leave request_id out of the file, or make it the same as in the name');
  }
  return undefined;
}

/** Write the reply to `req`, saying so when the request used the deprecated name. */
async function reply(run: DaemonRun, req: Req, answer: Omit<ClaimReply, 'at'>): Promise<void> {
  await writeClaimReply(run, req.replyName, req.nameRequestId === undefined ? { ...answer, deprecated: deprecationNote(req.rawWorker) } : answer);
}


async function claimFor(run: DaemonRun, worker: string, request: ClaimRequest, requestId: string | null, tag: string | undefined): Promise<Omit<ClaimReply, 'at'>> {
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
    return claimedReply(worker, r.ticket, requestId, tag);
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
async function refuse(run: DaemonRun, req: Req, fingerprint: string, requestId: string | null, error: AgentError): Promise<void> {
  await reply(run, req, errorReply(requestId, error));
  run.memory.markAnswered(join(req.dir, req.name), fingerprint, nowMs(run));
  await removeUnchanged(run, req.dir, req.name, fingerprint);
  run.log({ action: 'request refused', worker_id: req.rawWorker, file: req.rel, error: { code: error.code, message: error.message } });
}

/**
 * Was this request answered already (its reply written, the daemon then stopped before removing
 * the request)? A uniquely named request: its reply is there with its request_id. A deprecated
 * one (its reply name is reused): only when that reply claimed a ticket the worker still holds.
 */
async function alreadyAnswered(run: DaemonRun, req: Req, requestId: string | null): Promise<boolean> {
  if (requestId === null) return false;
  const prior = await readReply(run, req.replyName);
  if (prior?.request_id !== requestId) return false;
  if (req.nameRequestId !== undefined) return true;
  if (prior.status !== 'claimed' || typeof prior.ticket_id !== 'string') return false;
  try {
    // Why: the reply file is writable by agents too; never build a path from it unchecked.
    validateId(prior.ticket_id, 'ticket id');
  } catch {
    return false;
  }
  return isRegularFile(run.ctx.fs, join(claimedDir(run.ctx, req.rawWorker), ticketFileName(prior.ticket_id)));
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
