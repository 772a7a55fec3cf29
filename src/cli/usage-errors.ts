import { TqError } from '../core/model/errors.js';
import { closestName, didYouMean } from '../core/model/closest-name.js';
import { COMMANDS, type CommandEntry } from './command-table.js';
import { GLOBAL_OPTIONS, optionNamed, type DeclaredCommand } from './command-options.js';

/**
 * The usage errors tq words itself rather than leaving to yargs: an unknown command, a missing
 * positional, an option whose value is missing. Each is found before the command runs.
 */

/** `tq claim <run> --type <stage> --worker <id> [options]`: the shape `--help` starts with. */
export function usageLine(entry: CommandEntry): string {
  return `tq ${entry.usage} [options]`;
}

export function unknownCommandError(name: string): TqError {
  const names = COMMANDS.map((c) => c.command.split(' ')[0] as string);
  return new TqError('USAGE', `unknown command: ${name}${didYouMean(name, names)}`, { hint: '`tq --help` lists the commands' });
}

/** The first required positional (`<run>`, `<tickets..>`) a parsed line has no value for, as the usage line writes it. */
export function missingPositional(entry: CommandEntry, args: Record<string, unknown>): string | undefined {
  const shown = entry.usage.split(' ').filter((w) => w.startsWith('<') || w.startsWith('['));
  for (const [i, word] of entry.command.split(' ').slice(1).entries()) {
    const m = /^<([\w-]+)(\.\.)?>$/.exec(word);
    if (!m) continue;
    const v = args[m[1] as string];
    if (v === undefined || (Array.isArray(v) && v.length === 0)) return shown[i] ?? `<${m[1]}>`;
  }
  return undefined;
}

export function missingPositionalError(entry: CommandEntry, positional: string): TqError {
  return new TqError('USAGE', `missing ${positional}`, { field: positional.replace(/[<>.]/g, ''), hint: `usage: ${usageLine(entry)}` });
}

/** `inputTokens` -> `input-tokens`: yargs accepts an option's camelCase spelling too. */
function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/**
 * The first `--name` (or `-n`) the command does not take, with the closest option it does. Why
 * tq words it: yargs says "Unknown argument: typo" and suggests nothing.
 */
export function unknownOptionError(argv: readonly string[], cmd: DeclaredCommand, entry: CommandEntry): TqError | undefined {
  for (let i = 0; i < argv.length; i += 1) {
    const word = argv[i] as string;
    if (word === '--') return undefined;
    if (!/^--?[A-Za-z]/.test(word)) continue;
    const flag = word.split('=')[0] as string;
    const name = kebab(flag.replace(/^--?/, ''));
    const opt = optionNamed(cmd, `--${name}`) ?? (name.startsWith('no-') ? optionNamed(cmd, `--${name.slice(3)}`) : undefined);
    if (name === 'help' || name === 'version') continue;
    if (!opt) {
      const names = [...GLOBAL_OPTIONS, ...cmd.options].map((o) => o.name);
      const close = closestName(name, names);
      return new TqError('USAGE', `unknown option ${flag}${close ? `; did you mean --${close}?` : ''}`, { field: name, hint: `usage: ${usageLine(entry)} (see \`tq ${entry.command.split(' ')[0]} --help\`)` });
    }
    if (opt.takesValue && !word.includes('=')) i += 1;
  }
  return undefined;
}

const NEGATIVE_NUMBER = /^-\d+(\.\d+)?$/;

/**
 * An option that takes a value but is followed by nothing or by an option-like word
 * (`--lease -5m`, `--type --worker w`). Why tq checks this itself: yargs reads the option as
 * empty and the rest as flags ("Unknown arguments: 5, m"), or, for a declared next option,
 * quietly runs with an empty value.
 */
export function optionValueError(argv: readonly string[], cmd: DeclaredCommand): TqError | undefined {
  for (let i = 0; i < argv.length; i += 1) {
    const word = argv[i] as string;
    if (word === '--') return undefined;
    if (!/^--?[A-Za-z]/.test(word) || word.includes('=')) continue;
    const opt = optionNamed(cmd, word);
    if (!opt?.takesValue || opt.valueOptional) continue;
    const next = argv[i + 1];
    if (next === undefined || optionNamed(cmd, next.split('=')[0] as string)) return new TqError('USAGE', `${word} needs a value`, { field: opt.name });
    if (next.startsWith('-') && next !== '-' && !(opt.type === 'number' && NEGATIVE_NUMBER.test(next))) {
      return new TqError('USAGE', `${word} needs a value, but the next word is "${next}"`, { field: opt.name, hint: `to pass a value that starts with "-", write ${word}=${next}` });
    }
    i += 1;
  }
  return undefined;
}
