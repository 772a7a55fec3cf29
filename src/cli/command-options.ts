import type { Argv } from 'yargs';
import type { CommandSpec } from './command.js';

/** One option or positional a command's builder declares, as help, checks and completion need it. */
export interface DeclaredOption {
  name: string;
  /** 'string' | 'number' | 'boolean', or undefined (e.g. a choices-only option, which takes a value). */
  type?: string;
  describe?: string;
  aliases: string[];
  /** Takes a value (every type but boolean). */
  takesValue: boolean;
  /**
   * The value may be left out (`tq daemon --commit` alone). An option says so with yargs'
   * `requiresArg: false` (yargs' own default, so yargs reads it the same either way).
   */
  valueOptional?: boolean;
}

export interface DeclaredCommand {
  positionals: DeclaredOption[];
  options: DeclaredOption[];
}

function declared(name: string, o: Record<string, unknown>): DeclaredOption {
  const alias = o.alias;
  const aliases = alias === undefined ? [] : (Array.isArray(alias) ? alias : [alias]).map(String);
  const type = typeof o.type === 'string' ? o.type : undefined;
  return {
    name,
    ...(type ? { type } : {}),
    ...(typeof o.describe === 'string' ? { describe: o.describe } : {}),
    aliases,
    takesValue: type !== 'boolean',
    ...(o.requiresArg === false ? { valueOptional: true } : {}),
  };
}

/**
 * Every option and positional a command's builder declares, read by running the builder
 * against a recorder that accepts any builder call. Why not yargs' own `getOptions()`: this
 * needs no yargs (usage checks run before it is loaded) and sees the command's options only.
 */
export function declaredOptions(spec: CommandSpec): DeclaredCommand {
  const positionals: DeclaredOption[] = [];
  const options: DeclaredOption[] = [];
  const recorder: Record<string, (...a: unknown[]) => unknown> = {
    positional(key, o) {
      positionals.push(declared(String(key), (o ?? {}) as Record<string, unknown>));
      return proxy;
    },
    option(key, o) {
      options.push(declared(String(key), (o ?? {}) as Record<string, unknown>));
      return proxy;
    },
  };
  const proxy: unknown = new Proxy(recorder, {
    get: (target, prop) => (typeof prop === 'string' && prop in target ? target[prop] : () => proxy),
  });
  spec.builder(proxy as Argv);
  return { positionals, options };
}

/** The two options every command takes (main() declares them for yargs). */
export const GLOBAL_OPTIONS: readonly DeclaredOption[] = [
  { name: 'root', type: 'string', describe: 'directory holding runs', aliases: [], takesValue: true },
  { name: 'json', type: 'boolean', describe: 'JSON output', aliases: [], takesValue: false },
];

/** The option a `--name` or `-n` word names (by name or alias): the command's own or a global one. */
export function optionNamed(cmd: DeclaredCommand, word: string): DeclaredOption | undefined {
  const key = word.replace(/^--?/, '');
  return [...GLOBAL_OPTIONS, ...cmd.options].find((o) => o.name === key || o.aliases.includes(key));
}
