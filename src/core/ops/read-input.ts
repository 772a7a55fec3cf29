import { createReadStream } from 'node:fs';
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
 * Largest JSON array (or pretty-printed object) accepted as input. Why a limit: such a
 * document is parsed whole, and JSON.parse needs several times its size in memory; JSONL is
 * read line by line and has no limit on the number of lines.
 */
export const MAX_INPUT_DOCUMENT = 128 * 1024 * 1024;

const OPEN_BRACKET = 0x5b;
const NEWLINE = 0x0a;

type InputMode = 'unknown' | 'jsonl' | 'whole';

/**
 * Stream work items from a JSONL file (one object per line), a JSON array, or a single JSON
 * object; '-' (or /dev/stdin) reads stdin. Items are yielded one by one so that huge inputs never sit in
 * memory twice; a line over MAX_INPUT_LINE or a document over MAX_INPUT_DOCUMENT stops the
 * read with an error naming the file (so /dev/zero or a 1 GB one-line file fail in bounded memory).
 */
export async function* readInputItems(source: string, stdin: Readable = process.stdin): AsyncGenerator<InputItem> {
  const label = source === '-' ? '<stdin>' : source;
  // Why /dev/stdin too: when stdin is a socket (a parent that spawned us from Node), opening
  // /dev/stdin fails with ENXIO; the stream we already hold reads it either way.
  const stream = source === '-' || source === '/dev/stdin' ? stdin : await openInput(source, label);
  let mode: InputMode = 'unknown';
  const whole: string[] = [];
  let wholeBytes = 0;
  let wholeStart = 1;
  // Why a budget per line, decided before the line ends: an unterminated line is never held past it.
  const budget = (firstByte: number | undefined): number =>
    mode === 'whole' ? MAX_INPUT_DOCUMENT - wholeBytes : mode === 'unknown' && firstByte === OPEN_BRACKET ? MAX_INPUT_DOCUMENT : MAX_INPUT_LINE;
  for await (const batch of readLinesBounded(stream, label, budget, () => mode)) {
    for (let i = 0; i < batch.lines.length; i += 1) {
      const lineNo = batch.firstNo + i;
      const line = lineNo === 1 ? stripBom(batch.lines[i] as string) : (batch.lines[i] as string);
      if (mode === 'whole') {
        whole.push(line);
        // Characters, not bytes (cheaper): the joined document is held to the limit in bytes below.
        wholeBytes += line.length + 1;
        if (wholeBytes > MAX_INPUT_DOCUMENT) throw tooLong(label, lineNo, MAX_INPUT_DOCUMENT, mode, undefined);
        continue;
      }
      const trimmed = line.trim();
      if (trimmed === '') continue;
      if (mode === 'unknown') {
        if (trimmed.startsWith('[') || (trimmed.startsWith('{') && !parses(trimmed))) {
          // A JSON array, a pretty-printed single object or a JSON document spread over lines.
          mode = 'whole';
          wholeStart = lineNo;
          whole.push(line);
          wholeBytes += line.length + 1;
          continue;
        }
        mode = 'jsonl';
      }
      yield { item: asObject(parseJson(trimmed, `${label}:${lineNo}`), `${label}:${lineNo}`), where: `${label}:${lineNo}` };
    }
  }
  if (mode === 'whole') {
    // Why: a JSON array holds many items; each item is still held to the per-item limits.
    const doc = parseJson(whole.join('\n'), label, MAX_INPUT_DOCUMENT, () => jsonlLineAt(whole, wholeStart, label));
    whole.length = 0;
    if (Array.isArray(doc)) {
      for (let i = 0; i < doc.length; i += 1) checkJsonValue(doc[i], `${label}[${i}]`);
      for (let i = 0; i < doc.length; i += 1) yield { item: asObject(doc[i], `${label}[${i}]`), where: `${label}[${i}]` };
    } else {
      yield { item: asObject(doc, label), where: label };
    }
  }
}

/** Open a named input (a file, a FIFO, /dev/stdin): errors name the path. */
async function openInput(source: string, label: string): Promise<Readable> {
  const stream = createReadStream(source);
  try {
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', reject);
    });
  } catch (err) {
    throw cannotRead(err, label);
  }
  return stream;
}

function cannotRead(err: unknown, label: string): TqError {
  if (err instanceof TqError) return err;
  const code = errnoCode(err);
  return new TqError(code === 'ENOENT' ? 'NOT_FOUND' : 'INVALID_INPUT', `cannot read input ${label}: ${code ?? String(err)}`, {
    file: label,
    hint: code === 'ENOENT' ? 'check the path given to --input' : undefined,
  });
}

/** The lines that one read of the stream completed. */
interface LineBatch {
  lines: string[];
  /** 1-based number of lines[0]. */
  firstNo: number;
}

/**
 * Split a byte stream into lines (LF or CRLF), never holding more of an unterminated line than
 * budget(its first non-blank byte) allows. Why not readline: it buffers an unterminated line
 * without bound, so `--input /dev/zero` grew until V8 died. Why batches: the lines a read
 * completed are decoded with one call and handed over with one await, as readline did.
 */
async function* readLinesBounded(stream: Readable, label: string, budget: (firstByte: number | undefined) => number, mode: () => InputMode): AsyncGenerator<LineBatch> {
  let pending: Buffer[] = [];
  let size = 0;
  let first: number | undefined;
  let no = 1;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer | string>) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      const firstNl = buf.indexOf(NEWLINE);
      const head = firstNl < 0 ? buf.length : firstNl;
      first ??= firstNonBlank(buf, 0, head, no === 1);
      const max = budget(first);
      if (size + head > max) throw tooLong(label, no, max, mode(), first);
      if (firstNl < 0) {
        pending.push(buf);
        size += buf.length;
        continue;
      }
      // Why decoding up to a newline byte is safe: in UTF-8 it never falls inside a character.
      const lastNl = buf.lastIndexOf(NEWLINE);
      const done = pending.length > 0 ? Buffer.concat([...pending, buf.subarray(0, lastNl)]) : buf.subarray(0, lastNl);
      const lines = done.toString('utf8').split('\n');
      for (let i = 0; i < lines.length; i += 1) lines[i] = withoutCr(lines[i] as string);
      const rest = buf.subarray(lastNl + 1);
      pending = rest.length > 0 ? [rest] : [];
      size = rest.length;
      first = firstNonBlank(rest, 0, rest.length, false);
      yield { lines, firstNo: no };
      no += lines.length;
    }
  } catch (err) {
    // Leaving the loop early (this error, or a consumer that stopped) destroyed the stream: no
    // file or pipe stays open, and nothing more is read from an endless source.
    throw cannotRead(err, label);
  }
  if (size > 0) yield { lines: [withoutCr(Buffer.concat(pending).toString('utf8'))], firstNo: no };
}

function withoutCr(line: string): string {
  return line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line;
}

function firstNonBlank(buf: Buffer, start: number, end: number, firstLine: boolean): number | undefined {
  for (let i = start; i < end; i += 1) {
    const c = buf[i] as number;
    const bom = firstLine && (c === 0xef || c === 0xbb || c === 0xbf);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d && !bom) return c;
  }
  return undefined;
}

function tooLong(label: string, lineNo: number, max: number, mode: InputMode, first: number | undefined): TqError {
  const mb = (n: number): string => `${Math.round(n / 1048576)} MB`;
  if (mode === 'whole' || (mode === 'unknown' && first === OPEN_BRACKET)) {
    return new TqError('INVALID_INPUT', `${label}: JSON document over the ${mb(MAX_INPUT_DOCUMENT)} limit for an input read whole`, {
      file: label,
      hint: 'write one JSON object per line (JSONL) instead: it is read line by line, with no limit on the number of lines',
    });
  }
  return new TqError('INVALID_INPUT', `${label}:${lineNo}: line over the ${mb(max)} limit for one work item (no line end within it)`, {
    file: label,
    hint: 'an input is JSONL (one JSON object per line), a JSON array or one JSON object; store large data in files and put their paths in the items',
  });
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
