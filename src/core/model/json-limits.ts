import { TqError } from './errors.js';

/** Largest output_data / input item accepted (a ticket is a work item, not a data store). */
export const MAX_JSON_BYTES = 16 * 1024 * 1024;
/**
 * Largest file the queue reads whole (a ticket, run.json, a record it wrote). Why 16 × the JSON
 * limit: a ticket holds an input and an output of up to MAX_JSON_BYTES each, pretty-printed
 * (indentation), with concerns and history; nothing ticketq writes comes near it. Why a limit
 * at all: an agent can put any file in a run; a read must never grow without bound.
 */
export const MAX_RECORD_BYTES = 16 * MAX_JSON_BYTES;
/** Deepest nesting accepted: deeper documents blow the stack of JSON tools, ours included. */
export const MAX_JSON_DEPTH = 100;

/** Depth of a parsed JSON value, iteratively (so a hostile document cannot overflow the stack). */
export function jsonDepth(value: unknown, limit = MAX_JSON_DEPTH + 1): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop() as [unknown, number];
    if (typeof v !== 'object' || v === null) continue;
    const depth = d + 1;
    if (depth > max) max = depth;
    if (max >= limit) return max;
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (typeof child === 'object' && child !== null) stack.push([child, depth]);
  }
  return max;
}

/** Refuse JSON text that is too big or too deep, before or right after parsing. */
export function checkJsonText(text: string, where: string, field?: string, maxBytes = MAX_JSON_BYTES): void {
  const bytes = text.length > maxBytes / 4 ? Buffer.byteLength(text) : 0;
  if (bytes > maxBytes) throw jsonTooBig(where, bytes, maxBytes, field);
  // Cheap pre-check: nesting can only be as deep as the count of opening brackets.
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i += 1;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      depth += 1;
      if (depth > max) max = depth;
    } else if (c === 125 || c === 93) depth -= 1;
  }
  if (max > MAX_JSON_DEPTH) throw tooDeep(where, field);
}

/**
 * The error for JSON data over the size limit; `bytes` is undefined when the data came from a
 * stream that was cut off at the limit (its real size is unknown, perhaps endless).
 */
export function jsonTooBig(where: string, bytes: number | undefined, maxBytes = MAX_JSON_BYTES, field?: string): TqError {
  const size = bytes === undefined ? `more than ${maxBytes / 1048576} MB (reading stopped there)` : `${(bytes / 1048576).toFixed(1)} MB`;
  return new TqError('INVALID_INPUT', `${where}: ${size} is over the ${maxBytes / 1048576} MB limit for one ticket's data`, {
    file: where,
    ...(field ? { field } : {}),
    hint: 'store large artifacts as files next to your data and put their paths in the output',
  });
}

export function checkJsonValue(value: unknown, where: string, field?: string): void {
  if (jsonDepth(value) > MAX_JSON_DEPTH) throw tooDeep(where, field);
}

function tooDeep(where: string, field?: string): TqError {
  return new TqError('INVALID_INPUT', `${where}: JSON nested deeper than ${MAX_JSON_DEPTH} levels`, {
    file: where,
    ...(field ? { field } : {}),
    hint: 'flatten the structure',
  });
}
