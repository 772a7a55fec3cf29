import { join } from 'node:path';
import { validateId } from '../core/model/ids.js';
import type { Ticket } from '../core/model/ticket-schema.js';
import { listDir, streamDirEntries, unlinkIfExists } from '../core/store/atomic-write.js';
import { readTicketAt } from '../core/store/read-ticket.js';
import { claimedDir } from '../core/store/run-context.js';
import { isTicketFileName, parseReplyFileName, parseRequestFileName, replyNameOfRequest, takenAtOfFileName } from '../core/store/run-names.js';
import { claimedReply, deprecationNote, readReply, writeClaimReply } from './answer-agent.js';
import { restoreStaleTaken } from './consume-agent-file.js';
import { isRealDirInRun, nowMs, type DaemonRun } from './daemon-run.js';
import { parseAgentJson } from './parse-agent-json.js';
import { readAgentFile } from './read-agent-file.js';

/**
 * A request file a daemon took (`.<request>.<nonce>.at-<ms>.taken`) and still holds after the
 * settle time: that daemon stopped while serving it. If it stopped after claiming a ticket for
 * the request and before writing the reply, the worker holds a ticket nobody told it about. So
 * before the request is put back (and served again, which would claim a second ticket), look for
 * that claim: a ticket in claimed/<worker>/ of the request's stage, claimed at or after the take,
 * that no reply in requests/ names. Found: reply with that same claim (the request is answered
 * once, the ticket not claimed twice). Not found: put the request back, to be served as new.
 * Why by time: the claim records no request id; the take's time (in its name, by the daemon's
 * clock, the clock claims are stamped with) bounds which claims can be this request's.
 */
export async function serveTakenRequest(run: DaemonRun, dir: string, takenName: string, original: string): Promise<void> {
  const path = join(dir, takenName);
  if (!run.memory.hasSettled(path, 'taken', nowMs(run), run.settle.takenMs)) return;
  const at = takenAtOfFileName(takenName);
  const req = parseRequestFileName(original);
  if (at !== undefined && req !== undefined) {
    const recovered = await recoverClaim(run, path, original, req.rawWorker, req.rawRequestId, at);
    if (recovered !== undefined) {
      await unlinkIfExists(run.ctx, path);
      run.memory.forget(path);
      run.log({ action: 'claim recovered', worker_id: req.rawWorker, ticket_id: recovered, file: `requests/${original}`, note: 'a daemon stopped after claiming for this request and before replying: replied with that claim' });
      return;
    }
  }
  return restoreStaleTaken(run, dir, takenName, original);
}

/** Reply to the taken request with the claim made for it, if there is one; its ticket id, or undefined. */
async function recoverClaim(run: DaemonRun, takenPath: string, original: string, rawWorker: string, rawRequestId: string | undefined, atMs: number): Promise<string | undefined> {
  try {
    validateId(rawWorker, 'worker id');
    if (rawRequestId !== undefined) validateId(rawRequestId, 'request id');
  } catch {
    return undefined;
  }
  const read = await readAgentFile(run.ctx.fs, takenPath);
  if (read.kind !== 'text') return undefined;
  const parsed = parseAgentJson('request', read.text, read.binary, `requests/${original}`);
  if (!parsed.ok) return undefined;
  const requestId = rawRequestId ?? parsed.value.request_id ?? null;
  const replyName = replyNameOfRequest(original);
  // Answered already (the daemon stopped after the reply): the request is put back and removed as answered.
  if ((await readReply(run, replyName))?.request_id === requestId && requestId !== null) return undefined;
  const ticket = await unreportedClaim(run, rawWorker, parsed.value.stage, atMs);
  if (ticket === undefined) return undefined;
  const answer = claimedReply(rawWorker, ticket, requestId, rawRequestId, ' (claimed before the daemon restarted)');
  await writeClaimReply(run, replyName, rawRequestId === undefined ? { ...answer, deprecated: deprecationNote(rawWorker) } : answer);
  return ticket.ticket_id;
}

/** The earliest ticket of `stage` claimed by `worker` at or after `atMs` that no reply names. */
async function unreportedClaim(run: DaemonRun, worker: string, stage: string, atMs: number): Promise<Ticket | undefined> {
  const dir = claimedDir(run.ctx, worker);
  if (!(await isRealDirInRun(run.ctx, dir))) return undefined;
  const candidates: Ticket[] = [];
  for (const name of await listDir(run.ctx, dir)) {
    if (!isTicketFileName(name)) continue;
    const t = await readTicketAt(run.ctx, join(dir, name)).catch(() => undefined);
    const claimedAt = t?.claim ? Date.parse(t.claim.claimed_at) : Number.NaN;
    if (t !== undefined && t.worker_type === stage && t.claim?.worker_id === worker && claimedAt >= atMs) candidates.push(t);
  }
  if (candidates.length === 0) return undefined;
  const named = await ticketsNamedInReplies(run, worker);
  return candidates.filter((t) => !named.has(t.ticket_id)).sort((a, b) => Date.parse(a.claim?.claimed_at ?? '') - Date.parse(b.claim?.claimed_at ?? ''))[0];
}

/** The tickets the replies of `worker` in requests/ name (streamed: requests/ may be large). */
async function ticketsNamedInReplies(run: DaemonRun, worker: string): Promise<Set<string>> {
  const named = new Set<string>();
  await streamDirEntries(run.ctx, run.ctx.paths.requests, async (e) => {
    if (parseReplyFileName(e.name)?.rawWorker !== worker) return true;
    const r = await readReply(run, e.name);
    if (typeof r?.ticket_id === 'string') named.add(r.ticket_id);
    return true;
  });
  return named;
}
