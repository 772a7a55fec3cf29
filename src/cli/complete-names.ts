import { listRuns } from '../core/views/list-tickets.js';
import { nodeFs } from '../core/store/fs-layer.js';
import { openRun } from '../core/store/run-context.js';
import { findCommand } from './command-table.js';
import { declaredOptions, optionNamed, type DeclaredCommand } from './command-options.js';

/** Options whose value is a stage of the line's run. */
const STAGE_OPTIONS = new Set(['type', 'stage']);

/**
 * Shell completion of the names yargs cannot know: run names (directories under the root) where
 * a command takes a run, stage names (from the run's pipeline) after --type. `words` are what
 * the completion script passes after --get-yargs-completions (bash and zsh start with the
 * program name, fish does not; the last word is the one being completed). Undefined: not a
 * run or stage position, so yargs completes commands, options and choices.
 */
export async function completeNames(words: string[], rootDefault: string): Promise<string[] | undefined> {
  const w = words.length > 1 && !findCommand(words[0] as string) && !(words[0] as string).startsWith('-') ? words.slice(1) : words;
  const current = w[w.length - 1] ?? '';
  const before = w.slice(0, -1);
  let root = rootDefault;
  let at = -1;
  for (let i = 0; i < before.length && at < 0; i += 1) {
    const word = before[i] as string;
    if (word === '--root') root = before[(i += 1)] ?? root;
    else if (word.startsWith('--root=')) root = word.slice('--root='.length);
    else if (!word.startsWith('-')) at = i;
  }
  const entry = at < 0 ? undefined : findCommand(before[at] as string);
  if (!entry) return undefined;
  const cmd = declaredOptions(await entry.load());
  const { positionals, wantsValue, rootGiven } = readLine(before.slice(at + 1), cmd);
  if (rootGiven !== undefined) root = rootGiven;
  const startsWithCurrent = (names: string[]): string[] => names.filter((n) => n.startsWith(current));
  const takesRun = entry.command.split(' ')[1];
  if (wantsValue !== undefined) {
    if (STAGE_OPTIONS.has(wantsValue) && takesRun === '<run>' && positionals[0] !== undefined) return startsWithCurrent(await stagesOf(root, positionals[0]));
    if (wantsValue === 'run') return startsWithCurrent(await listRuns(root, nodeFs));
    return undefined;
  }
  if (current.startsWith('-')) return undefined;
  const slot = entry.command.split(' ')[positionals.length + 1];
  // Why not create: its run does not exist yet.
  const runSlot = (slot === '<run>' && !entry.command.startsWith('create ')) || slot === '[runs..]' || (slot === undefined && takesRun === '[runs..]');
  return runSlot ? startsWithCurrent(await listRuns(root, nodeFs)) : undefined;
}

/** The positionals of the words after the command, and the option the last word wants a value for. */
function readLine(words: string[], cmd: DeclaredCommand): { positionals: string[]; wantsValue?: string; rootGiven?: string } {
  const positionals: string[] = [];
  let rootGiven: string | undefined;
  for (let i = 0; i < words.length; i += 1) {
    const word = words[i] as string;
    if (!word.startsWith('-') || word === '-') {
      positionals.push(word);
      continue;
    }
    const opt = optionNamed(cmd, word);
    if (!opt?.takesValue || word.includes('=')) {
      if (word.startsWith('--root=')) rootGiven = word.slice('--root='.length);
      continue;
    }
    if (i === words.length - 1) return { positionals, wantsValue: opt.name, ...(rootGiven !== undefined ? { rootGiven } : {}) };
    if (opt.name === 'root') rootGiven = words[i + 1];
    i += 1;
  }
  return { positionals, ...(rootGiven !== undefined ? { rootGiven } : {}) };
}

async function stagesOf(root: string, run: string): Promise<string[]> {
  try {
    return Object.keys((await openRun(root, run)).config.pipeline.stages);
  } catch {
    return [];
  }
}
