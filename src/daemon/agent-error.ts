import { isTqError } from '../core/model/errors.js';
import { MAX_AGENT_FILE_BYTES } from '../core/model/file-protocol-schema.js';
import type { AgentFileRead } from './read-agent-file.js';

/** The `error` object of an error or reply file: what is wrong, where, and what to do. */
export interface AgentError {
  code: string;
  message: string;
  field: string | null;
  hint: string | null;
}

export function agentError(code: string, message: string, field?: string, hint?: string): AgentError {
  return { code, message, field: field ?? null, hint: hint ?? null };
}

/** A failure of a core operation (claim, submit, heartbeat, release) as told to the agent. */
export function agentErrorOf(err: unknown): AgentError {
  if (isTqError(err)) return agentError(err.code, err.message, err.field, err.hint);
  const message = err instanceof Error ? err.message : String(err);
  return agentError('IO_ERROR', `unexpected error: ${message}`, undefined, 'write the file again; if this repeats, tell the operator');
}

/** An entry the daemon will not read: a directory, a link, a FIFO, or a file over the size limit. */
export function unreadableError(read: Extract<AgentFileRead, { kind: 'not_file' | 'too_big' }>, rel: string): AgentError {
  if (read.kind === 'too_big') {
    return agentError(
      'INVALID_INPUT',
      `${rel} is ${read.size} bytes, more than the limit of ${MAX_AGENT_FILE_BYTES} bytes for files the daemon reads; it was moved to quarantine/`,
      undefined,
      'write a smaller file (put large data in files of your own and refer to them)',
    );
  }
  const why = read.what === 'symbolic link' ? 'the daemon never follows links' : 'only regular files are read';
  return agentError('INVALID_INPUT', `${rel} is a ${read.what}, not a regular file (${why}); it was moved to quarantine/`, undefined, `write ${rel} as a plain file`);
}
