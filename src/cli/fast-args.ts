import type { Argv } from 'yargs';
import type { Args, CommandSpec } from './command.js';

/**
 * The fast path of main(): parse a plain command line without loading yargs.
 *
 * Why: loading and building yargs (its parser, cliui, string-width, y18n, the help text it
 * caches before every command) cost a `tq claim` more than Node's own start-up. Agents call
 * claim, submit and status thousands of times with plain arguments, so those lines are parsed
 * here from the same builder the yargs path uses (recorded, not re-declared).
 *
 * The rule: return Args only when the line is unambiguous and yargs would give the same values
 * for the keys a command reads; otherwise return undefined and main() hands the line to yargs,
 * which prints help, usage errors, suggestions and completions exactly as before. So --help,
 * --version, unknown or repeated options, a missing required option, a value outside its
 * choices, `--no-x`, `--x=true`, short flags, `--`, values starting with '-', variadic or
 * optional positionals and any builder feature not recorded below all go to yargs.
 * test/cli/fast-args.test.ts compares both parsers on many lines.
 */

export interface OptionDef {
  type: 'string' | 'number' | 'boolean';
  choices?: readonly unknown[];
  default?: unknown;
  array: boolean;
  demand: boolean;
}

export interface CommandShape {
  name: string;
  positionals: string[];
  options: Map<string, OptionDef>;
}

/** The two options every command takes (main() declares them on the yargs path). */
export function globalOptions(rootDefault: string): Map<string, OptionDef> {
  return new Map<string, OptionDef>([
    ['root', { type: 'string', default: rootDefault, array: false, demand: false }],
    ['json', { type: 'boolean', default: false, array: false, demand: false }],
  ]);
}

const OPTION_KEYS = new Set(['type', 'choices', 'default', 'describe', 'array', 'demandOption']);

function optionDef(o: Record<string, unknown>): OptionDef | undefined {
  if (!Object.keys(o).every((k) => OPTION_KEYS.has(k))) return undefined;
  const choices = o.choices as readonly unknown[] | undefined;
  const type = o.type ?? (choices && choices.every((c) => typeof c === 'string') ? 'string' : undefined);
  if (type !== 'string' && type !== 'number' && type !== 'boolean') return undefined;
  if (o.demandOption !== undefined && o.demandOption !== true) return undefined;
  if (o.array !== undefined && (o.array !== true || type !== 'string')) return undefined;
  return { type, ...(choices ? { choices } : {}), ...('default' in o ? { default: o.default } : {}), array: o.array === true, demand: o.demandOption === true };
}

/**
 * Run a command's builder against a recorder instead of yargs. Returns undefined when the
 * builder uses anything the fast parser does not model (then yargs parses that command).
 */
export function recordShape(spec: CommandSpec): CommandShape | undefined {
  const words = spec.command.split(' ');
  const name = words[0] as string;
  const positionals: string[] = [];
  for (const w of words.slice(1)) {
    const m = /^<([A-Za-z][\w-]*)>$/.exec(w);
    if (!m) return undefined; // [optional] and <variadic..> positionals: yargs only
    positionals.push(m[1] as string);
  }
  const options = new Map<string, OptionDef>();
  let ok = true;
  const recorder: Record<string, (...a: unknown[]) => unknown> = {
    positional(key, o) {
      const opt = o as Record<string, unknown>;
      if (!positionals.includes(key as string) || opt.type !== 'string' || !Object.keys(opt).every((k) => k === 'type' || k === 'describe' || k === 'demandOption')) ok = false;
      return proxy;
    },
    option(key, o) {
      const def = optionDef(o as Record<string, unknown>);
      if (!def || options.has(key as string) || key === 'root' || key === 'json' || key === 'help' || key === 'version') ok = false;
      else options.set(key as string, def);
      return proxy;
    },
    example() {
      return proxy;
    },
  };
  const proxy: unknown = new Proxy(recorder, {
    get(target, prop) {
      if (typeof prop === 'string' && prop in target) return target[prop];
      ok = false;
      return () => proxy;
    },
  });
  try {
    spec.builder(proxy as Argv);
  } catch {
    return undefined;
  }
  return ok ? { name, positionals, options } : undefined;
}

const NUMBER = /^(0|[1-9]\d{0,14})(\.\d+)?$/;

/**
 * Parse argv (after the command name was found) for one command, or undefined to let yargs do
 * it. The result has the keys yargs gives a handler: every option with a value or a default,
 * the positionals, `_` and `$0`.
 */
export function fastParse(argv: string[], shape: CommandShape, globals: Map<string, OptionDef>): Args | undefined {
  const defs = new Map([...globals, ...shape.options]);
  const values = new Map<string, unknown>();
  const words: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    if (!arg.startsWith('-')) {
      words.push(arg);
      continue;
    }
    const m = /^--([a-z][a-z0-9]*(?:-[a-z0-9]+)*)(?:=(.*))?$/s.exec(arg);
    if (!m) return undefined;
    const key = m[1] as string;
    const def = defs.get(key);
    if (!def) return undefined;
    let raw: string;
    if (def.type === 'boolean') {
      if (m[2] !== undefined) return undefined;
      const next = argv[i + 1];
      if (next === 'true' || next === 'false') return undefined;
      if (values.has(key)) return undefined;
      values.set(key, true);
      continue;
    }
    if (m[2] !== undefined) raw = m[2];
    else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('-')) return undefined;
      raw = next;
      i += 1;
    }
    if (raw === '' || (raw.startsWith('-') && raw !== '-') || raw.trim() !== raw) return undefined;
    let value: unknown = raw;
    if (def.type === 'number') {
      if (!NUMBER.test(raw)) return undefined;
      value = Number(raw);
    } else if (NUMBER.test(raw) || /^0\d/.test(raw)) {
      // Why: yargs-parser turns numeric-looking strings into numbers in some positions (and
      // keeps leading zeros in others); a plain word never differs, so leave numbers to yargs.
      return undefined;
    }
    if (def.choices && !def.choices.includes(value)) return undefined;
    if (def.array) values.set(key, [...((values.get(key) as unknown[] | undefined) ?? []), value]);
    else if (values.has(key)) return undefined;
    else values.set(key, value);
  }
  if (words[0] !== shape.name) return undefined;
  const rest = words.slice(1);
  if (rest.length !== shape.positionals.length) return undefined;
  const args: Record<string, unknown> = { _: [shape.name], $0: 'tq' };
  for (const [i, key] of shape.positionals.entries()) {
    const v = rest[i] as string;
    if (v === '' || NUMBER.test(v) || /^0\d/.test(v)) return undefined;
    args[key] = v;
  }
  for (const [key, def] of defs) {
    if (values.has(key)) args[key] = values.get(key);
    else if (def.demand) return undefined;
    else if ('default' in def) args[key] = def.default;
  }
  return args as Args;
}
