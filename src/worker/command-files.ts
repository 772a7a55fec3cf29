import { errnoCode } from '../core/model/errors.js';
import { MAX_JSON_BYTES, jsonTooBig } from '../core/model/json-limits.js';
import { stripBom } from '../core/model/serialize-ticket.js';
import { CONCERN_LEVELS, type ConcernLevel } from '../core/model/states.js';
import type { Usage } from '../core/model/ticket-schema.js';
import { readTextBounded } from '../core/store/read-bounded.js';
import { AttemptError } from './worker-types.js';

/**
 * A file a program may have written into its scratch directory, at most MAX_JSON_BYTES;
 * undefined when it did not write it. `label` names it in errors ($TQ_CONCERNS, --output-file).
 */
export async function readOptionalFile(path: string, label: string): Promise<string | undefined> {
  try {
    return stripBom(await readTextBounded(path, { maxBytes: MAX_JSON_BYTES, tooBig: (bytes) => jsonTooBig(label, bytes) }));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw new AttemptError(`cannot read ${label} (${path}): ${err instanceof Error ? err.message : String(err)}`);
  }
}

export interface ConcernLine {
  level: ConcernLevel;
  message: string;
  suggestion?: string;
}

/** `$TQ_CONCERNS`: one JSON object per line, {"level", "message", "suggestion"}; blank lines skipped. */
export function parseConcernLines(text: string): ConcernLine[] {
  const out: ConcernLine[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const where = `$TQ_CONCERNS line ${i + 1}`;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (err) {
      throw new AttemptError(`${where} is not JSON: ${(err as Error).message}`);
    }
    const o = (typeof v === 'object' && v !== null && !Array.isArray(v) ? v : {}) as Record<string, unknown>;
    if (!(CONCERN_LEVELS as readonly unknown[]).includes(o.level) || typeof o.message !== 'string' || o.message.trim() === '') {
      throw new AttemptError(`${where} must be {"level": "info"|"review"|"error", "message": "...", "suggestion": "..."}, got ${line.slice(0, 200)}`);
    }
    out.push({ level: o.level as ConcernLevel, message: o.message, ...(typeof o.suggestion === 'string' && o.suggestion !== '' ? { suggestion: o.suggestion } : {}) });
  });
  return out;
}

/** `$TQ_USAGE`: one JSON object; its fields are checked when the output is submitted. */
export function parseUsageFile(text: string): Usage {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new AttemptError(`$TQ_USAGE is not JSON: ${(err as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new AttemptError('$TQ_USAGE must be a JSON object like {"input_tokens": 1200, "output_tokens": 300, "model": "…", "cost_usd": 0.01}');
  return v as Usage;
}

/** The program's output: a JSON document (the submit checks it is an object and matches the stage). */
export function parseOutput(text: string, from: string): unknown {
  const trimmed = text.trim();
  if (trimmed === '') throw new AttemptError(`${from} is empty: the program must print the output JSON object`);
  try {
    return JSON.parse(trimmed);
  } catch (err) {
    throw new AttemptError(`${from} is not valid JSON (${(err as Error).message}); it began: ${JSON.stringify(trimmed.slice(0, 120))}`);
  }
}
