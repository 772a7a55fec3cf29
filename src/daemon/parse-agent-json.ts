import type { z } from 'zod';
import { ClaimRequest, HeartbeatFile, ReleaseFile, ResultFile, normalizeAgentJson } from '../core/model/file-protocol-schema.js';
import { stripBom } from '../core/model/serialize-ticket.js';
import { formatZodIssue } from '../core/model/zod-messages.js';
import { checkJsonText } from '../core/model/json-limits.js';
import { MAX_AGENT_FILE_BYTES } from '../core/model/file-protocol-schema.js';
import { agentError, agentErrorOf, type AgentError } from './agent-error.js';

export type AgentFileKind = 'request' | 'result' | 'heartbeat' | 'release';

const SCHEMAS = { request: ClaimRequest, result: ResultFile, heartbeat: HeartbeatFile, release: ReleaseFile } as const;

export interface AgentValues {
  request: z.infer<typeof ClaimRequest>;
  result: z.infer<typeof ResultFile>;
  heartbeat: z.infer<typeof HeartbeatFile>;
  release: z.infer<typeof ReleaseFile>;
}

const EXAMPLES: Record<AgentFileKind, string> = {
  request: '{"stage": "<stage>", "request_id": "any-unique-text"}',
  result: '{"output_data": {...}, "worker_concerns": [], "status": "completed"}',
  heartbeat: '{} or {"lease": "10m"}',
  release: '{} or {"reason": "why you give it back"}',
};

const ALIASES: Record<AgentFileKind, string[]> = { request: ['type', 'worker_type'], result: ['concerns'], heartbeat: [], release: [] };

/**
 * `unparseable` is not (yet) JSON: maybe still being written, so the caller waits before
 * answering. Anything else that is wrong is final for this version of the file.
 */
export type AgentParse<K extends AgentFileKind> =
  | { ok: true; value: AgentValues[K] }
  | { ok: false; unparseable: boolean; error: AgentError };

export function parseAgentJson<K extends AgentFileKind>(kind: K, text: string, binary: boolean, rel: string): AgentParse<K> {
  const hint = `write the whole file in one go, as one JSON object: ${EXAMPLES[kind]}`;
  const body = stripBom(text);
  if (body.trim() === '') return { ok: false, unparseable: true, error: agentError('INVALID_INPUT', `${rel} is empty`, undefined, hint) };
  try {
    // Why first: a hostile nesting depth must not reach JSON.parse or the schema.
    checkJsonText(body, rel, undefined, MAX_AGENT_FILE_BYTES);
  } catch (err) {
    return { ok: false, unparseable: false, error: agentErrorOf(err) };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch (err) {
    const message = binary ? `${rel} is not text (it holds binary data), so it is not JSON` : `${rel} is not valid JSON: ${(err as Error).message}`;
    return { ok: false, unparseable: true, error: agentError('INVALID_INPUT', message, undefined, hint) };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    const got = Array.isArray(raw) ? 'an array' : raw === null ? 'null' : `a ${typeof raw}`;
    return { ok: false, unparseable: false, error: agentError('INVALID_INPUT', `${rel} must hold a JSON object ({...}), not ${got}`, undefined, hint) };
  }
  const normalized = kind === 'request' || kind === 'result' ? normalizeAgentJson(kind, raw) : raw;
  const parsed = SCHEMAS[kind].safeParse(normalized);
  if (parsed.success) return { ok: true, value: parsed.data as AgentValues[K] };
  // Why: an unknown field is most often a typo of a missing one ("ouput_data"): say that first.
  const unknown = parsed.error.issues.find((i) => i.code === 'unrecognized_keys');
  const issue = unknown ?? parsed.error.issues[0];
  if (issue?.code === 'unrecognized_keys') {
    const allowed = [...Object.keys(SCHEMAS[kind].shape), ...ALIASES[kind]].join(', ');
    const keys = issue.keys.map((k) => `"${k}"`).join(', ');
    return {
      ok: false,
      unparseable: false,
      error: agentError('INVALID_INPUT', `${rel}: unknown field ${keys} (fields allowed here: ${allowed})`, issue.keys[0], `remove or rename the field; e.g. ${EXAMPLES[kind]}`),
    };
  }
  const field = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : undefined;
  return { ok: false, unparseable: false, error: agentError('INVALID_INPUT', `${rel}: ${issue ? formatZodIssue(issue) : 'invalid'}`, field, hint) };
}
