import { join } from 'node:path';
import { writeFileAtomic } from '../core/store/atomic-write.js';
import { errorFileName, replyFileName } from '../core/store/run-names.js';
import { runRelText } from '../core/store/run-paths.js';
import type { AgentError } from './agent-error.js';
import type { DaemonRun } from './daemon-run.js';

export function errorFilePath(workerDir: string, rawTicketId: string): string {
  return join(workerDir, errorFileName(rawTicketId));
}

/** `claimed/<worker>/<ticket-id>.error.json`: what was wrong with the file `rel`. */
export async function writeAgentErrorFile(run: DaemonRun, workerDir: string, rawTicketId: string, rel: string, error: AgentError): Promise<void> {
  // Why relative: agents work from the run directory, and the file may be committed with the run.
  const body = { ticket_id: rawTicketId, file: rel, error: relativeError(run, error), at: run.clock.now().toISOString() };
  await writeFileAtomic(run.ctx, errorFilePath(workerDir, rawTicketId), `${JSON.stringify(body, null, 2)}\n`);
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
  at: string;
}

/** `requests/<worker>.reply.json`, written whole (agents poll it). */
export async function writeClaimReply(run: DaemonRun, rawWorker: string, reply: Omit<ClaimReply, 'at'>): Promise<void> {
  const body: ClaimReply = { ...reply, message: runRelText(run.ctx.paths, reply.message), ...(reply.error ? { error: relativeError(run, reply.error) } : {}), at: run.clock.now().toISOString() };
  await writeFileAtomic(run.ctx, join(run.ctx.paths.requests, replyFileName(rawWorker)), `${JSON.stringify(body, null, 2)}\n`);
}

/** An error for an agent's file, with the run's own paths relative to it (see runRelText). */
function relativeError(run: DaemonRun, error: AgentError): AgentError {
  const rel = (t: string | null): string | null => (t === null ? null : runRelText(run.ctx.paths, t));
  return { ...error, message: runRelText(run.ctx.paths, error.message), hint: rel(error.hint) };
}
