import type { Argv } from 'yargs';
import { TqError, isTqError } from '../core/model/errors.js';
import { SCHEMA_VERSION } from '../core/model/ticket-schema.js';
import { defaultRoot, rootFromEnv } from './env-settings.js';
import { processIo, type CliIo, type CommandOutput } from './io.js';
import type { Args, CommandSpec } from './command.js';
import { COMMANDS, findCommand, type CommandEntry } from './command-table.js';
import { fastParse, globalOptions, recordShape } from './fast-args.js';
import { declaredOptions } from './command-options.js';
import { missingPositional, missingPositionalError, optionValueError, unknownCommandError, unknownOptionError, usageLine } from './usage-errors.js';

export { COMMANDS };

/**
 * The whole CLI as a function: parse argv, run one command, print, return the exit code.
 * Never calls process.exit, so tests can call it in-process.
 *
 * Only the invoked command's module is imported. A plain command line is parsed without
 * yargs (see fast-args.ts); everything else (help, usage errors, completions) goes to yargs,
 * which is imported only then.
 */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  argv = joinDashValues(argv);
  // Why both: the io's environment first (tests pass their own), then the process's.
  const rootDefault = rootFromEnv(io.env) ?? defaultRoot(process.env);
  const completing = argv.includes('--get-yargs-completions');
  if (completing) {
    const names = await completeNamesOrUndefined(argv, rootDefault);
    if (names !== undefined) {
      if (names.length > 0) io.stdout(`${names.join('\n')}\n`);
      return 0;
    }
  }
  const name = commandName(argv);
  const entry = name === undefined ? undefined : findCommand(name);
  if (name !== undefined && name !== '' && !entry && !completing) return reportError(unknownCommandError(name), argv.includes('--json'), io);
  let spec: CommandSpec | undefined;
  try {
    spec = entry ? await entry.load() : undefined;
  } catch (err) {
    return reportError(err, argv.includes('--json'), io);
  }
  const shape = spec && !completing ? recordShape(spec) : undefined;
  const fast = shape ? fastParse(argv, shape, globalOptions(rootDefault)) : undefined;
  if (spec && fast) return runCommand(spec, fast, argv, io);
  // The line is unusual (or help, or an error): yargs parses it. When the command could not be
  // told apart from the options, every command module is loaded so yargs can match or complete
  // any of them.
  const loaded = new Map<string, CommandSpec>();
  if (spec && entry) loaded.set(entry.command, spec);
  if (completing || (!spec && name !== '')) {
    try {
      const specs = await Promise.all(COMMANDS.map((c) => c.load()));
      COMMANDS.forEach((c, i) => loaded.set(c.command, specs[i] as CommandSpec));
    } catch (err) {
      return reportError(err, argv.includes('--json'), io);
    }
  }
  return mainWithYargs(argv, io, rootDefault, loaded);
}

/** Run a parsed command line and print what it returns. The one place a command runs. */
async function runCommand(spec: CommandSpec, args: Args, argv: readonly string[], io: CliIo): Promise<number> {
  let output: CommandOutput;
  try {
    output = await spec.run(args, io, argv);
  } catch (err) {
    return reportError(err, args.json, io);
  }
  return printOutput(output, args.json, io);
}

/** Run and stage names for `--get-yargs-completions` (loaded only then), or undefined to let yargs complete. */
async function completeNamesOrUndefined(argv: string[], rootDefault: string): Promise<string[] | undefined> {
  try {
    const { completeNames } = await import('./complete-names.js');
    return await completeNames(argv.slice(argv.indexOf('--get-yargs-completions') + 1), rootDefault);
  } catch {
    // Why: a completion never prints an error into the user's command line; yargs still offers what it knows.
    return undefined;
  }
}

/**
 * Import every command module and yargs now. For tests that must see no module loading once
 * the command starts (the strace crash tests count syscalls from that point).
 */
export async function preloadCommands(): Promise<void> {
  await Promise.all([...COMMANDS.map((c) => c.load()), import('yargs')]);
}

interface Matched {
  entry: CommandEntry;
  spec: CommandSpec;
  args: Args;
}

/**
 * Parse with yargs. Why the command's handler only records what matched: yargs calls it even
 * after a usage error (an unknown or malformed option), and a command must never run then.
 */
async function mainWithYargs(argv: string[], io: CliIo, rootDefault: string, loaded: Map<string, CommandSpec>): Promise<number> {
  const { default: yargs } = await import('yargs');
  let matched: Matched | undefined;
  let usageError: string | undefined;
  let helpText = '';
  let words: unknown[] = [];
  const parser: Argv = yargs(argv)
    .scriptName('tq')
    .usage('tq <command> [options]\n\nA filesystem-native work queue for agent pipelines. Every command takes --root and --json.')
    .option('root', { type: 'string', default: rootDefault, describe: 'directory holding runs (env TQ_ROOT)', global: true })
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON object with schema_version on stdout; an error is one JSON object {schema_version, error: {code, message, ...}} on stderr', global: true })
    .strict()
    // Why: an array option takes one value per flag (`--concern a --concern b`), as in the fast
    // parser; greedy, `--concern a b` would swallow the next word, even a positional.
    // Why populate--: the words after `--` are kept apart in args['--'] (tq work's program);
    // a builder's own parserConfiguration would not reach this already-configured parse.
    .parserConfiguration({ 'greedy-arrays': false, 'populate--': true })
    .demandCommand(1, 'name a command (tq --help lists them)')
    .exitProcess(false)
    .showHelpOnFail(false)
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .fail((msg, err) => {
      if (err) throw err;
      usageError = msg;
    })
    .help();
  for (const entry of COMMANDS) {
    const spec = loaded.get(entry.command);
    parser.command(
      entry.command,
      entry.describe,
      (y) => {
        // Why: yargs runs only the matched command's builder, and main() loaded that command.
        if (!spec) throw new Error(`internal: command module for "${entry.command}" was not loaded`);
        let built = spec.builder(y.usage(`${usageLine(entry)}\n\n${entry.describe}`));
        for (const [cmd, text] of spec.examples) built = built.example(cmd, text);
        return built;
      },
      (args) => {
        if (spec) matched = { entry, spec, args: args as unknown as Args };
      },
    );
  }
  try {
    await parser.parseAsync(argv, {}, (_err, parsed, out) => {
      helpText = out;
      words = parsed._;
    });
  } catch (err) {
    return reportError(err, argv.includes('--json'), io);
  }
  const problem = usageProblem(argv, matched, usageError, words);
  if (problem) return reportError(problem, matched ? matched.args.json : argv.includes('--json'), io);
  if (matched) return runCommand(matched.spec, matched.args, argv, io);
  if (helpText) io.stdout(helpText.endsWith('\n') ? helpText : `${helpText}\n`);
  return 0;
}

/** Why a line parsed by yargs must not run, worded for the user; undefined when it may run. */
function usageProblem(argv: string[], matched: Matched | undefined, usageError: string | undefined, words: unknown[]): TqError | undefined {
  if (matched) {
    const cmd = declaredOptions(matched.spec);
    const bad = unknownOptionError(argv, cmd, matched.entry) ?? optionValueError(argv, cmd);
    if (bad) return bad;
    const afterDashDash = matched.args['--'];
    if (!matched.spec.afterDashDash && Array.isArray(afterDashDash) && afterDashDash.length > 0) {
      return new TqError('USAGE', `unexpected words after --: ${afterDashDash.map(String).join(' ')}`, { hint: `usage: ${usageLine(matched.entry)}` });
    }
    if (usageError === undefined) return undefined;
    const missing = missingPositional(matched.entry, matched.args);
    if (missing) return missingPositionalError(matched.entry, missing);
    return new TqError('USAGE', usageError, { hint: `usage: ${usageLine(matched.entry)} (see \`tq ${matched.entry.command.split(' ')[0]} --help\`)` });
  }
  if (usageError === undefined) return undefined;
  const first = words[0];
  if (typeof first === 'string' && !findCommand(first)) return unknownCommandError(first);
  return new TqError('USAGE', usageError, { hint: 'see `tq --help` or `tq <command> --help`' });
}

function printOutput(output: CommandOutput, wantsJson: boolean, io: CliIo): number {
  if (wantsJson) {
    if (!output.streamed) io.stdout(`${JSON.stringify({ schema_version: SCHEMA_VERSION, ...output.data })}\n`);
  }
  else if (output.text !== '') io.stdout(`${output.text}\n`);
  return output.exitCode ?? 0;
}

/**
 * The command a line names: its first word, skipping the global options before it. Undefined
 * when an option yargs might read a value for comes first (then yargs gets every command).
 */
function commandName(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    if (arg === '--root') i += 1;
    else if (arg.startsWith('--root=') || arg === '--json') continue;
    else if (arg === '--help' || arg === '--version') return findCommand(argv[i + 1] ?? '') ? undefined : '';
    else if (!arg.startsWith('-')) return arg;
    else return undefined;
  }
  return '';
}

/**
 * `--input -` and `--output -` mean stdin. Why: yargs reads a lone '-' as a positional, so
 * the option would be left empty and '-' refused as an unknown argument; `--input=-` works.
 * Nothing after a `--` is touched: it is a program's own command line (`tq work ... -- cmd`).
 */
function joinDashValues(argv: string[]): string[] {
  const out: string[] = [];
  for (const [i, arg] of argv.entries()) {
    if (arg === '--') return [...out, ...argv.slice(i)];
    const prev = out[out.length - 1];
    if (arg === '-' && prev !== undefined && /^--[A-Za-z][\w-]*$/.test(prev)) out[out.length - 1] = `${prev}=-`;
    else out.push(arg);
  }
  return out;
}

function reportError(err: unknown, json: boolean, io: CliIo): number {
  const e = isTqError(err) ? err : new TqError('IO_ERROR', `unexpected error: ${err instanceof Error ? err.message : String(err)}`, { cause: err, hint: 'this is a bug in tq if it repeats; please report it with the command you ran' });
  if (json) io.stderr(`${JSON.stringify({ schema_version: SCHEMA_VERSION, error: e.toJSON() })}\n`);
  else io.stderr(`tq: ${e.message}${e.hint ? `\n  hint: ${e.hint}` : ''}\n`);
  if (!isTqError(err) && io.env.TQ_DEBUG && err instanceof Error) io.stderr(`${err.stack}\n`);
  return e.exitCode;
}
