import yargs from 'yargs';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/command-table.js';
import { fastParse, globalOptions, recordShape } from '../../src/cli/fast-args.js';
import type { CommandSpec } from '../../src/cli/command.js';

const ROOT = '/tmp/runs';

/** What yargs hands the command's handler for argv (the yargs path of main()). */
async function yargsArgs(spec: CommandSpec, argv: string[]): Promise<Record<string, unknown> | undefined> {
  let got: Record<string, unknown> | undefined;
  let failed = false;
  const parser = yargs(argv)
    .scriptName('tq')
    .option('root', { type: 'string', default: ROOT, global: true })
    .option('json', { type: 'boolean', default: false, global: true })
    .strict()
    .parserConfiguration({ 'greedy-arrays': false })
    .exitProcess(false)
    .fail(() => {
      failed = true;
    })
    .command(
      spec.command,
      spec.describe,
      (y) => spec.builder(y),
      (args) => {
        got = { ...args };
      },
    );
  await parser.parseAsync(argv);
  return failed ? undefined : got;
}

/** The keys a command can read: yargs adds camelCase copies, which no command uses. */
function comparable(args: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(args).filter(([k]) => !/[A-Z]/.test(k)));
}

async function spec(name: string): Promise<CommandSpec> {
  const entry = COMMANDS.find((c) => c.command.split(' ')[0] === name);
  if (!entry) throw new Error(name);
  return entry.load();
}

describe('the command table', () => {
  it('lists each module with its own command and description', async () => {
    for (const entry of COMMANDS) {
      const s = await entry.load();
      expect({ command: s.command, describe: s.describe }).toEqual({ command: entry.command, describe: entry.describe });
    }
  });
});

describe('fast-args: parses a plain line exactly as yargs would, or leaves it to yargs', () => {
  const same: [string, string[]][] = [
    ['claim', ['claim', 'gallia', '--type', 'translate', '--worker', 'agent-7', '--json']],
    ['claim', ['--root', '/x', 'claim', 'gallia', '--type=translate', '--worker', 'agent-7', '--lease', '10m']],
    ['claim', ['claim', '--json', 'gallia', '--worker', 'w', '--type', 'parse']],
    ['claim', ['claim', ' gallia ', '--type', 'a b', '--worker', 'w']],
    ['submit', ['submit', 'gallia', 'translate-mi0x2k3c000-a7f3z', '--worker', 'agent-7', '--output', 'out.json', '--token', 'abc', '--concern', 'review:Odd idiom', '--suggestion', 'check line 3']],
    ['submit', ['submit', 'gallia', 't1', '--worker', 'w', '--output=-', '--concern', 'info:a', '--concern', 'error:b', '--status', 'failed', '--input-tokens', '12', '--duration-ms', '1.5', '--model', 'gpt']],
    ['submit', ['submit', 'gallia', 't1', '--worker', 'w', '--usage', '{"input_tokens":3}', '--concerns-file', 'c.json']],
    ['status', ['status', 'gallia']],
    ['status', ['status', 'gallia', '--json', '--root', 'runs']],
    ['status', ['status', 'gallia', '--watch', '--interval', '500ms', '--count', '2']],
    ['heartbeat', ['heartbeat', 'gallia', 't1', '--worker', 'w', '--lease', '5m', '--token', 'k']],
    ['release', ['release', 'gallia', 't1', '--worker', 'w', '--reason', 'stuck here']],
    ['list', ['list', 'gallia', '--state', 'claimed', '--type', 'translate']],
    ['show', ['show', 'gallia', 't1']],
    ['create', ['create', 'gallia', '--pipeline', 'p.json', '--input', 'walks.jsonl', '--durability', 'none']],
    ['add', ['add', 'gallia', '--type', 'parse']],
    ['fsck', ['fsck', 'gallia', '--repair', '--settle', '0s']],
    ['top', ['top', 'gallia', '--once', '--window', '5m']],
    ['graph', ['graph', 'gallia', '--format', 'dot']],
  ];
  it.each(same)('%s: %j', async (name, argv) => {
    const s = await spec(name);
    const shape = recordShape(s);
    expect(shape).toBeDefined();
    const fast = fastParse(argv, shape!, globalOptions(ROOT));
    expect(fast, 'the fast parser should take this line').toBeDefined();
    const slow = await yargsArgs(s, argv);
    expect(slow).toBeDefined();
    expect(comparable(fast!)).toEqual(comparable(slow!));
  });

  const toYargs: [string, string[]][] = [
    ['claim', ['claim', 'gallia', '--help']],
    ['claim', ['claim', 'gallia', '--type', 'x']], // missing --worker
    ['claim', ['claim', '--type', 'x', '--worker', 'w']], // missing run
    ['claim', ['claim', 'a', 'b', '--type', 'x', '--worker', 'w']], // extra positional
    ['claim', ['claim', 'gallia', '--type', 'x', '--worker', 'w', '--bogus']],
    ['claim', ['claim', 'gallia', '--type', 'x', '--worker', 'w', '--worker', 'v']],
    ['claim', ['claim', 'gallia', '--type', 'x', '--worker', '7']],
    ['claim', ['claim', 'gallia', '--type', 'x', '--worker', '007']],
    ['claim', ['claim', '12', '--type', 'x', '--worker', 'w']],
    ['claim', ['claim', 'gallia', '--type', '--worker', 'w']],
    ['claim', ['claim', 'gallia', '--type=', '--worker', 'w']],
    ['claim', ['claim', 'gallia', '--type', 'x', '--worker', 'w', '--json', 'false']],
    ['claim', ['claim', 'gallia', '--type', 'x', '--worker', 'w', '--no-json']],
    ['claim', ['claim', 'gallia', '--type', 'x', '--worker', 'w', '--json=true']],
    ['claim', ['claim', 'gallia', '-t', 'x', '--worker', 'w']],
    ['claim', ['claim', 'gallia', '--type', 'x', '--worker', 'w', '--', 'more']],
    ['claim', ['claim', 'gallia', '--type', 'x', '--workerId', 'w']],
    ['claim', ['claim', 'gallia', '--type', '-x', '--worker', 'w']],
    ['submit', ['submit', 'gallia', 't1', '--worker', 'w', '--status', 'nope']],
    ['submit', ['submit', 'gallia', 't1', '--worker', 'w', '--input-tokens', 'many']],
    ['submit', ['submit', 'gallia', 't1', '--worker', 'w', '--input-tokens', '-1']],
    ['submit', ['submit', 'gallia', 't1', '--worker', 'w', '--input-tokens', '0x10']],
    ['status', ['status', 'gallia', '--version']],
    ['status', ['list', 'gallia']], // another command's line
  ];
  it.each(toYargs)('%s: %j goes to yargs', async (name, argv) => {
    const shape = recordShape(await spec(name));
    expect(shape).toBeDefined();
    expect(fastParse(argv, shape!, globalOptions(ROOT))).toBeUndefined();
  });

  it('commands whose builder it does not model are all parsed by yargs', async () => {
    for (const name of ['daemon', 'requeue', 'schema', 'commit']) expect(recordShape(await spec(name)), name).toBeUndefined();
  });
});
