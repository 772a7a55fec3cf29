import { z } from 'zod';
import { Concern, JsonObject, Usage } from './ticket-schema.js';
import { SUBMIT_STATES } from './states.js';

/**
 * What workers with only file tools write. Unknown fields are refused (a typo such as
 * "ouput_data" must not silently drop a result).
 */
export const ClaimRequest = z.strictObject({
  stage: z.string().min(1),
  /**
   * The request id is in the file name (`requests/<worker-id>~<request-id>.json`); given here as
   * well, it must be the same. Only the deprecated `requests/<worker-id>.json` takes it from here.
   */
  request_id: z.string().max(200).optional().describe('optional: the request id is the part of the file name after ~; if given here too, it must be the same'),
  lease: z.union([z.string(), z.number()]).optional(),
});
export type ClaimRequest = z.infer<typeof ClaimRequest>;

export const ResultFile = z.strictObject({
  output_data: JsonObject,
  worker_concerns: z.array(Concern.pick({ level: true, message: true, suggestion: true })).optional(),
  usage: Usage.optional(),
  status: z.enum(SUBMIT_STATES).optional(),
  /** The claim token from the ticket's claim; optional, checked when present. */
  token: z.string().optional(),
});
export type ResultFile = z.infer<typeof ResultFile>;

/**
 * The daemon's answer in `requests/<worker-id>~<request-id>.reply.json` (for agents' reference:
 * the daemon writes it, daemon/answer-agent.ts ClaimReply).
 */
export const ClaimReplyFile = z.object({
  request_id: z.string().nullable(),
  status: z.enum(['claimed', 'empty', 'paused', 'error']),
  ticket_id: z.string().nullable(),
  ticket_path: z.string().nullable().describe('the claimed ticket, relative to the run'),
  result_path: z.string().nullable().describe('where to write the result: claimed/<worker-id>/<ticket-id>~<request-id>.result.json'),
  lease_expires_at: z.string().optional(),
  retry_after_ms: z.number().optional().describe('with empty and paused: wait this long before asking again'),
  message: z.string(),
  error: z.object({ code: z.string(), message: z.string(), field: z.string().nullable(), hint: z.string().nullable() }).optional(),
  deprecated: z.string().optional().describe('set when the request used the old name requests/<worker-id>.json: the name to use instead'),
  at: z.string().describe("when the daemon wrote it; replies are deleted 10 minutes after it if the agent has not"),
});

export const HeartbeatFile = z.strictObject({
  lease: z.union([z.string(), z.number()]).optional(),
});

export const ReleaseFile = z.strictObject({
  reason: z.string().optional(),
});

/** Largest request/result file the daemon reads; larger ones are answered with an error file. */
export const MAX_AGENT_FILE_BYTES = 8 * 1024 * 1024;

/** Accept a few spellings agents commonly use, then validate strictly. */
export function normalizeAgentJson(kind: 'request' | 'result', raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const obj = { ...(raw as Record<string, unknown>) };
  if (kind === 'request') {
    for (const alias of ['type', 'worker_type']) {
      if (obj.stage === undefined && typeof obj[alias] === 'string') {
        obj.stage = obj[alias];
        delete obj[alias];
      }
    }
    if (typeof obj.stage === 'string') obj.stage = obj.stage.trim();
  } else if (obj.worker_concerns === undefined && obj.concerns !== undefined) {
    obj.worker_concerns = obj.concerns;
    delete obj.concerns;
  }
  return obj;
}
