import { join } from 'node:path';
import { isTqError } from '../core/model/errors.js';
import { validateId } from '../core/model/ids.js';
import { claimTicket } from '../core/ops/claim-ticket.js';
import { quarantineFile } from '../core/store/quarantine.js';
import { listDir, readIfExists, unlinkIfExists } from '../core/store/atomic-write.js';
import { AgentFileKind, REPLY_SUFFIX, agentFileName, isSafeBaseName, parseRequestFileName, replyFileName, requestFileName, ticketFileName } from '../core/store/run-names.js';
import { claimedDir } from '../core/store/run-context.js';
import { TicketState } from '../core/model/states.js';
import type { ClaimRequest } from '../core/model/file-protocol-schema.js';
import { agentErrorOf, unreadableError, type AgentError } from './agent-error.js';
import { writeClaimReply, type ClaimReply } from './answer-agent.js';
import { removeUnchanged, restoreStaleTaken, takeUnchanged } from './consume-agent-file.js';
import { errorLogOf, isRealDir, isRegularFile, nowMs, type DaemonRun } from './daemon-run.js';
import { parseAgentJson } from './parse-agent-json.js';
import { readAgentFile } from './read-agent-file.js';
import { originalOfTaken } from './take-file.js';

/**
 * Answer the claim requests of file-only workers: `requests/<worker-id>.json` gets a reply in
 * `requests/<worker-id>.reply.json`, then the request is removed.
 */
export async function serveRequests(run: DaemonRun): Promise<void> {
  const dir = run.ctx.paths.requests;
  if (!(await isRealDir(run.ctx.fs, dir))) return;
  const names = await listDir(run.ctx, dir);
  for (const name of names) {
    try {
      await serveRequestEntry(run, dir, name);
    } catch (err) {
      run.log({ action: 'error', file: `requests/${name}`, error: errorLogOf(err) });
    }
  }
  run.memory.prune(dir, new Set(names));
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
    action: reply.status === 'claimed' ? 'claimed' : reply.status === 'empty' ? 'nothing to claim' : 'request refused',
    worker_id: rawWorker,
    ...(reply.ticket_id ? { ticket_id: reply.ticket_id } : {}),
    ...(reply.error ? { error: { code: reply.error.code, message: reply.error.message } } : { note: `stage ${request.stage}${requestId ? `, request_id ${requestId}` : ''}` }),
  });
}

async function claimFor(run: DaemonRun, worker: string, request: ClaimRequest): Promise<Omit<ClaimReply, 'at'>> {
  const requestId = request.request_id ?? null;
  try {
    const r = await claimTicket(run.ctx, { stage: request.stage, workerId: worker, ...(request.lease !== undefined ? { lease: request.lease } : {}) });
    if (!r) {
      return { request_id: requestId, status: 'empty', ticket_id: null, ticket_path: null, result_path: null, message: `no pending ${request.stage} tickets right now; ask again later` };
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
    // Why: disk trouble is not the agent's fault; the .taken file is put back and retried.
    if (!isTqError(err) || err.code === 'IO_ERROR') throw err;
    return errorReply(requestId, agentErrorOf(err));
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
  const text = await readIfExists(run.ctx, join(run.ctx.paths.requests, replyFileName(worker))).catch(() => undefined);
  if (text === undefined) return false;
  let prior: Partial<ClaimReply>;
  try {
    prior = JSON.parse(text) as Partial<ClaimReply>;
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
