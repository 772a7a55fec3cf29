import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { TqError, errnoCode } from '../model/errors.js';
import { stripBom } from '../model/serialize-ticket.js';
import { checkJsonText, checkJsonValue } from '../model/json-limits.js';
import type { JsonObject } from '../model/ticket-schema.js';

export interface InputItem {
  item: JsonObject;
  /** "file:line" or "file[index]", for error messages. */
  where: string;
}

/** Largest single input line accepted (a ticket input is a work item, not a data set). */
export const MAX_INPUT_LINE = 16 * 1024 * 1024;

/**
 * Stream work items from a JSONL file (one object per line), a JSON array, or a single JSON
 * object; '-' reads stdin. Items are yielded one by one so that huge inputs never sit in
 * memory twice.
 */
export async function* readInputItems(source: string, stdin: Readable = process.stdin): AsyncGenerator<InputItem> {
  const label = source === '-' ? '<stdin>' : source;
  const stream = source === '-' ? stdin : createReadStream(source, { encoding: 'utf8' });
  const opened = new Promise<void>((resolve, reject) => {
    if (source === '-') return resolve();
    stream.once('open', () => resolve());
    stream.once('error', reject);
  });
  try {
    await opened;
  } catch (err) {
    const code = errnoCode(err);
    throw new TqError(code === 'ENOENT' ? 'NOT_FOUND' : 'INVALID_INPUT', `cannot read input ${label}: ${code ?? String(err)}`, {
      file: label,
      hint: code === 'ENOENT' ? 'check the path given to --input' : undefined,
    });
  }
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let lineNo = 0;
  let mode: 'unknown' | 'jsonl' | 'whole' = 'unknown';
  const whole: string[] = [];
  let wholeStart = 1;
  for await (const rawLine of lines) {
    lineNo += 1;
    const line = lineNo === 1 ? stripBom(rawLine) : rawLine;
    if (mode === 'whole') {
      whole.push(line);
      continue;
    }
    const trimmed = line.trim();
    if (trimmed === '') continue;
    if (mode === 'unknown') {
      if (trimmed.startsWith('[')) {
        mode = 'whole';
        whole.push(line);
        continue;
      }
      if (trimmed.startsWith('{') && !parses(trimmed)) {
        // A pretty-printed single object or a JSON document spread over lines.
        mode = 'whole';
        wholeStart = lineNo;
        whole.push(line);
        continue;
      }
      mode = 'jsonl';
    }
    if (line.length > MAX_INPUT_LINE) throw new TqError('INVALID_INPUT', `${label}:${lineNo}: line longer than ${MAX_INPUT_LINE} bytes`, { file: label });
    yield { item: asObject(parseJson(trimmed, `${label}:${lineNo}`), `${label}:${lineNo}`), where: `${label}:${lineNo}` };
  }
  if (mode === 'whole') {
    // Why: a JSON array holds many items; each item is still held to the per-item limits.
    const doc = parseJson(whole.join('\n'), label, 1024 * 1024 * 1024, () => jsonlLineAt(whole, wholeStart, label));
    if (Array.isArray(doc)) {
      for (let i = 0; i < doc.length; i += 1) checkJsonValue(doc[i], `${label}[${i}]`);
      for (let i = 0; i < doc.length; i += 1) yield { item: asObject(doc[i], `${label}[${i}]`), where: `${label}[${i}]` };
    } else {
      yield { item: asObject(doc, label), where: label };
    }
  }
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * A document that failed to parse whole may be JSONL whose first line is broken: if other lines
 * are objects on their own, name the first bad line (file:line) rather than the whole file.
 */
function jsonlLineAt(lines: string[], firstLineNo: number, label: string): string | undefined {
  let bad: number | undefined;
  let objectLines = 0;
  lines.forEach((line, i) => {
    const t = line.trim();
    if (t === '') return;
    if (t.startsWith('{') && parses(t)) objectLines += 1;
    else bad ??= i;
  });
  return objectLines > 0 && bad !== undefined ? `${label}:${firstLineNo + bad}` : undefined;
}

function parseJson(text: string, where: string, maxBytes?: number, lineOf?: () => string | undefined): unknown {
  checkJsonText(text, where, undefined, maxBytes);
  try {
    return JSON.parse(text);
  } catch (err) {
    // Why: V8 quotes the bad text, newlines included; keep the message on one line.
    const why = (err as Error).message.replace(/\s*\n\s*/g, ' ');
    throw new TqError('INVALID_INPUT', `${lineOf?.() ?? where}: not valid JSON: ${why}`, {
      file: where,
      hint: 'input is JSONL (one JSON object per line), a JSON array of objects, or one JSON object',
    });
  }
}

function asObject(value: unknown, where: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
    throw new TqError('INVALID_INPUT', `${where}: expected a JSON object, got ${kind}`, {
      file: where,
      hint: 'each work item must be a JSON object, e.g. {"id": "0x14dfea", "text": "..."}',
    });
  }
  return value as JsonObject;
}
