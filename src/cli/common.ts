import { TqError, errnoCode, isTqError } from '../core/model/errors.js';
import { openRun, type RunCtx } from '../core/store/run-context.js';
import { durabilityFromEnv } from './env-settings.js';
import { stripBom } from '../core/model/serialize-ticket.js';
import { MAX_JSON_BYTES, checkJsonText, jsonTooBig } from '../core/model/json-limits.js';
import { readTextBounded } from '../core/store/read-bounded.js';
import type { CliIo } from './io.js';

export interface GlobalArgs {
  root: string;
  json: boolean;
}

/**
 * Open the run a command names. TQ_DURABILITY overrides the run's own durability. Why the
 * process's environment, not the io's: in-process callers of main() set it there.
 */
export async function openRunFromArgs(args: GlobalArgs & { run: string }): Promise<RunCtx> {
  return openRun(args.root, args.run, { durability: durabilityFromEnv(process.env) });
}

/** Read a JSON document from a file or '-' (stdin); errors name the file. */
export async function readJsonArg(source: string, io: CliIo, what: string): Promise<unknown> {
  let text: string;
  const label = source === '-' ? '<stdin>' : source;
  try {
    // Why bounded: `--output /dev/zero` or a 1 GB file must stop at the limit with an error naming it.
    text = await readTextBounded(source === '-' || source === '/dev/stdin' ? io.stdin : source, { maxBytes: MAX_JSON_BYTES, tooBig: (bytes) => jsonTooBig(label, bytes) });
  } catch (err) {
    if (isTqError(err)) throw err;
    throw new TqError(errnoCode(err) === 'ENOENT' ? 'NOT_FOUND' : 'INVALID_INPUT', `cannot read ${what} ${source}: ${errnoCode(err) ?? String(err)}`, { file: source });
  }
  checkJsonText(text, label);
  try {
    return JSON.parse(stripBom(text));
  } catch (err) {
    const conflict = /^(<<<<<<<|>>>>>>>) /m.test(text) ? ' (it has git conflict markers)' : '';
    throw new TqError('INVALID_INPUT', `${label}: ${what} is not valid JSON${conflict}: ${(err as Error).message}`, { file: source });
  }
}

export function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

/** A plain aligned table (no colour; safe for pipes). */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : pad(c, widths[i] ?? 0))).join('  ').trimEnd()).join('\n');
}
