import { basename } from 'node:path';
import yargs from 'yargs';
import { str, type CommandSpec } from '../command.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** The shell a user runs, from $SHELL (bash when unknown). */
export function shellOf(env: NodeJS.ProcessEnv): Shell {
  const name = basename(env.SHELL ?? '');
  return (SHELLS as readonly string[]).includes(name) ? (name as Shell) : 'bash';
}

/**
 * yargs' own completion script for `tq`. The script calls `tq --get-yargs-completions ...`,
 * which main() already answers from the registered commands, so new commands complete too.
 */
export async function completionScript(shell: Shell): Promise<string> {
  const saved = process.env.SHELL;
  // Why: yargs picks the template (bash, zsh, fish) from $SHELL when the instance is built;
  // this sets it for that synchronous moment only, then puts it back.
  process.env.SHELL = `/bin/${shell}`;
  let parser;
  try {
    parser = yargs([]).scriptName('tq').completion('completion', false).exitProcess(false);
  } finally {
    if (saved === undefined) delete process.env.SHELL;
    else process.env.SHELL = saved;
  }
  let script = '';
  await parser.parseAsync(['completion'], {}, (_err, _argv, output) => {
    script = output;
  });
  return script.endsWith('\n') ? script : `${script}\n`;
}

export const completionCommand: CommandSpec = {
  command: 'completion',
  describe: 'print a shell completion script (bash, zsh or fish)',
  examples: [
    ['$0 completion >> ~/.bashrc', 'bash: complete commands and options'],
    ['$0 completion --shell zsh > "${fpath[1]}/_tq"', 'zsh'],
    ['$0 completion --shell fish > ~/.config/fish/completions/tq.fish', 'fish'],
  ],
  builder: (y) => y.option('shell', { choices: SHELLS, describe: 'default: from $SHELL' }),
  async run(args, io) {
    const shell = args.shell === undefined ? shellOf(io.env) : (str(args, 'shell') as Shell);
    const script = await completionScript(shell);
    return { data: { shell, script }, text: script.trimEnd() };
  },
};
