import type { Argv } from 'yargs';
import { TqError } from '../core/model/errors.js';
import { parseDuration } from '../core/model/duration.js';
import type { CliIo, CommandOutput } from './io.js';

export type Args = { root: string; json: boolean } & Record<string, unknown>;

export interface CommandSpec {
  command: string;
  describe: string;
  examples: [string, string][];
  builder: (y: Argv) => Argv;
  /** What the command takes after `--` (e.g. a program to run); a command without it takes nothing there. */
  afterDashDash?: string;
  /** `argv`: the words of the line, for the rare option whose order among others matters (`--suggestion`). */
  run: (args: Args, io: CliIo, argv: readonly string[]) => Promise<CommandOutput>;
}

export function str(args: Args, key: string): string {
  const v = args[key];
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  throw new TqError('USAGE', `missing --${key}`, { field: key });
}

export function optStr(args: Args, key: string): string | undefined {
  const v = args[key];
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) return optStr({ ...args, [key]: v[v.length - 1] }, key);
  return typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
}

export function strList(args: Args, key: string): string[] {
  const v = args[key];
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

/**
 * A duration option in ms, through the one duration parser every option uses ("90s", "500ms",
 * "1h30m"; a bare number is seconds). Undefined when the option is not given and has no default.
 */
export function durationMs(args: Args, key: string, opts: { zero?: boolean; min?: number } = {}): number | undefined {
  const v = optStr(args, key);
  if (v === undefined) return undefined;
  const ms = parseDuration(v, key, opts);
  if (opts.min !== undefined && ms < opts.min && !(ms === 0 && opts.zero === true)) {
    throw new TqError('USAGE', `--${key} "${v}" is shorter than the ${durationText(opts.min)} it must be at least`, { field: key });
  }
  return ms;
}

/** A duration in ms as an option value ("2s", "500ms"), for defaults shown in --help. */
export function durationText(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
