import yargs, { type Argv } from 'yargs';
import { TqError, isTqError } from '../core/errors.js';
import { SCHEMA_VERSION } from '../core/ticket-schema.js';
import { defaultRoot } from '../core/run-context.js';
import { processIo, type CliIo, type CommandOutput } from './io.js';
import type { Args, CommandSpec } from './command.js';
import { addCommand, createCommand, runsCommand } from './commands/run-commands.js';
import { concernsCommand, listCommand, showCommand, statusCommand } from './commands/inspect-commands.js';
import { claimCommand, heartbeatCommand, releaseCommand, submitCommand } from './commands/worker-commands.js';
import { approveCommand, fsckCommand, reapCommand, requeueCommand } from './commands/operator-commands.js';
import { extraCommands } from './commands/extra-commands.js';

export const COMMANDS: CommandSpec[] = [
  createCommand,
  addCommand,
  runsCommand,
  statusCommand,
  listCommand,
  showCommand,
  claimCommand,
  heartbeatCommand,
  submitCommand,
  releaseCommand,
  approveCommand,
  requeueCommand,
  concernsCommand,
  reapCommand,
  fsckCommand,
  ...extraCommands,
];

/**
 * The whole CLI as a function: parse argv, run one command, print, return the exit code.
 * Never calls process.exit, so tests can call it in-process.
 */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  argv = joinDashValues(argv);
  let output: CommandOutput | undefined;
  let wantsJson = argv.includes('--json');
  let usageError: string | undefined;
  let helpText = '';
  const parser: Argv = yargs(argv)
    .scriptName('tq')
    .usage('tq <command> [options]\n\nA filesystem-native work queue for agent pipelines. Every command takes --root and --json.')
    .option('root', { type: 'string', default: io.env.TQ_ROOT && io.env.TQ_ROOT.trim() !== '' ? io.env.TQ_ROOT : defaultRoot(), describe: 'directory holding runs (env TQ_ROOT)', global: true })
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON object on stdout', global: true })
    .strict()
    .demandCommand(1, 'name a command (tq --help lists them)')
    .recommendCommands()
    .exitProcess(false)
    .showHelpOnFail(false)
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .fail((msg, err) => {
      if (err) throw err;
      usageError = msg;
    })
    .help();
  for (const spec of COMMANDS) {
    parser.command(
      spec.command,
      spec.describe,
      (y) => {
        let built = spec.builder(y);
        for (const [cmd, text] of spec.examples) built = built.example(cmd, text);
        return built;
      },
      async (args) => {
        wantsJson = args.json === true;
        output = await spec.run(args as unknown as Args, io);
      },
    );
  }
  try {
    await parser.parseAsync(argv, {}, (_err, _argv, out) => {
      helpText = out;
    });
  } catch (err) {
    return reportError(err, wantsJson, io);
  }
  if (usageError !== undefined) return reportError(new TqError('USAGE', usageError, { hint: 'see `tq --help` or `tq <command> --help`' }), wantsJson, io);
  if (!output) {
    if (helpText) io.stdout(helpText.endsWith('\n') ? helpText : `${helpText}\n`);
    return 0;
  }
  if (wantsJson) io.stdout(`${JSON.stringify({ schema_version: SCHEMA_VERSION, ...output.data })}\n`);
  else if (output.text !== '') io.stdout(`${output.text}\n`);
  return output.exitCode ?? 0;
}

/**
 * `--input -` and `--output -` mean stdin. Why: yargs reads a lone '-' as a positional, so
 * the option would be left empty and '-' refused as an unknown argument; `--input=-` works.
 */
function joinDashValues(argv: string[]): string[] {
  const out: string[] = [];
  for (const arg of argv) {
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
