import { join } from 'node:path';
import { writeFileAtomic } from '../core/store/atomic-write.js';
import { AgentFileKind, agentFileName, errorFileName, replyFileName, requestFileName, ticketFileName } from '../core/store/run-names.js';
import { TicketState } from '../core/model/states.js';
import type { Ticket } from '../core/model/ticket-schema.js';
import { readAgentFile } from './read-agent-file.js';
import { runRelText } from '../core/store/run-paths.js';
import type { AgentError } from './agent-error.js';
import type { DaemonRun } from './daemon-run.js';

/** The error file answering an agent file whose parsed name gave `errorBase` (run-names.ts parseAgentFileName). */
export function errorFilePath(workerDir: string, errorBase: string): string {
  return join(workerDir, errorFileName(errorBase));
}

/** Where an agent file's error answer goes, and what the answer is about. */
export interface ErrorTarget {
  workerDir: string;
  /** parseAgentFileName's errorBase: `<id>` (untagged file) or `<id>~<tag>.<kind>`. */
  errorBase: string;
  rawTicketId: string;
  /** The agent's file, relative to the run. */
  rel: string;
}

/** `claimed/<worker>/<id>~<tag>.<kind>.error.json` (`<id>.error.json` for an untagged file): what was wrong with the file. */
export async function writeAgentErrorFile(run: DaemonRun, t: ErrorTarget, error: AgentError): Promise<void> {
  // Why relative: agents work from the run directory, and the file may be committed with the run.
  const body = { ticket_id: t.rawTicketId, file: t.rel, error: relativeError(run, error), at: run.clock.now().toISOString() };
  await writeFileAtomic(run.ctx, errorFilePath(t.workerDir, t.errorBase), `${JSON.stringify(body, null, 2)}\n`);
}

export interface ClaimReply {
  request_id: string | null;
  /** `paused`: the stage or run is paused (`tq pause`); ask again later. */
  status: 'claimed' | 'empty' | 'paused' | 'error';
  ticket_id: string | null;
  ticket_path: string | null;
  result_path: string | null;
  lease_expires_at?: string;
  /** With `empty` and `paused`: how long to wait before asking again (jittered, see retry-after.ts). */
  retry_after_ms?: number;
  message: string;
  error?: AgentError;
  /** Set when the request used a deprecated name: the name to use instead. */
  deprecated?: string;
  /** When the daemon wrote the reply (its clock). The daemon deletes replies left REPLY_TTL_MS after it (sweep-replies.ts). */
  at: string;
}

/**
 * `requests/<worker>~<request_id>.reply.json` (or the deprecated `<worker>.reply.json`),
 * written whole (agents poll it). `replyName` comes from run-names.ts replyNameOfRequest.
 */
export async function writeClaimReply(run: DaemonRun, replyName: string, reply: Omit<ClaimReply, 'at'>): Promise<void> {
  const body: ClaimReply = { ...reply, message: runRelText(run.ctx.paths, reply.message), ...(reply.error ? { error: relativeError(run, reply.error) } : {}), at: run.clock.now().toISOString() };
  await writeFileAtomic(run.ctx, join(run.ctx.paths.requests, replyName), `${JSON.stringify(body, null, 2)}\n`);
}

/** An error for an agent's file, with the run's own paths relative to it (see runRelText). */
function relativeError(run: DaemonRun, error: AgentError): AgentError {
  const rel = (t: string | null): string | null => (t === null ? null : runRelText(run.ctx.paths, t));
  return { ...error, message: runRelText(run.ctx.paths, error.message), hint: rel(error.hint) };
}

/** The reply for a claim of `ticket`; its result path carries the request id as tag (unique names). */
export function claimedReply(worker: string, ticket: Ticket, requestId: string | null, tag: string | undefined, note = ''): Omit<ClaimReply, 'at'> {
  const id = ticket.ticket_id;
  const ticketPath = `${TicketState.claimed}/${worker}/${ticketFileName(id)}`;
  const resultPath = `${TicketState.claimed}/${worker}/${agentFileName(id, AgentFileKind.result, tag)}`;
  return {
    request_id: requestId,
    status: 'claimed',
    ticket_id: id,
    ticket_path: ticketPath,
    result_path: resultPath,
    lease_expires_at: ticket.claim?.lease_expires_at ?? '',
    message: `claimed ${id} until ${ticket.claim?.lease_expires_at}${note}: read ${ticketPath}, then write ${resultPath}`,
  };
}

/** A reply file in requests/, parsed loosely; undefined when absent or not JSON. */
export async function readReply(run: DaemonRun, replyName: string): Promise<Partial<ClaimReply> | undefined> {
  // Why readAgentFile: the reply file is writable by agents too (a FIFO there must not hang us).
  const read = await readAgentFile(run.ctx.fs, join(run.ctx.paths.requests, replyName)).catch(() => undefined);
  if (read?.kind !== 'text') return undefined;
  try {
    const v = JSON.parse(read.text) as unknown;
    return typeof v === 'object' && v !== null ? (v as Partial<ClaimReply>) : undefined;
  } catch {
    return undefined;
  }
}

/** The `deprecated` note of a reply to a request under the old name `requests/<worker>.json`. */
export function deprecationNote(worker: string): string {
  return `requests/${requestFileName(worker)} and ${replyFileName(worker)} are the old names, still answered until the next release: write requests/${requestFileName(worker, '<request-id>')} (a request id of your own, new for each request: a counter or a timestamp) and read requests/${replyFileName(worker, '<request-id>')}`;
}
