import type { Argv } from 'yargs';
import { TqError } from '../core/model/errors.js';
import type { CliIo, CommandOutput } from './io.js';

export type Args = { root: string; json: boolean } & Record<string, unknown>;

export interface CommandSpec {
  command: string;
  describe: string;
  examples: [string, string][];
  builder: (y: Argv) => Argv;
  run: (args: Args, io: CliIo) => Promise<CommandOutput>;
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
