import { z } from 'zod';
import { Concern, JsonObject, Usage } from './ticket-schema.js';
import { SUBMIT_STATES } from './states.js';

/**
 * What workers with only file tools write. Unknown fields are refused (a typo such as
 * "ouput_data" must not silently drop a result).
 */
export const ClaimRequest = z.strictObject({
  stage: z.string().min(1),
  request_id: z.string().max(200).optional(),
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
