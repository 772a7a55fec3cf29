import { join } from 'node:path';
import { writeFileAtomic } from '../core/store/atomic-write.js';
import { errorFileName, replyFileName } from '../core/store/run-names.js';
import type { AgentError } from './agent-error.js';
import type { DaemonRun } from './daemon-run.js';

export function errorFilePath(workerDir: string, rawTicketId: string): string {
  return join(workerDir, errorFileName(rawTicketId));
}

/** `claimed/<worker>/<ticket-id>.error.json`: what was wrong with the file `rel`. */
export async function writeAgentErrorFile(run: DaemonRun, workerDir: string, rawTicketId: string, rel: string, error: AgentError): Promise<void> {
  const body = { ticket_id: rawTicketId, file: rel, error, at: run.clock.now().toISOString() };
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
  message: string;
  error?: AgentError;
  at: string;
}

/** `requests/<worker>.reply.json`, written whole (agents poll it). */
export async function writeClaimReply(run: DaemonRun, rawWorker: string, reply: Omit<ClaimReply, 'at'>): Promise<void> {
  const body: ClaimReply = { ...reply, at: run.clock.now().toISOString() };
  await writeFileAtomic(run.ctx, join(run.ctx.paths.requests, replyFileName(rawWorker)), `${JSON.stringify(body, null, 2)}\n`);
}
