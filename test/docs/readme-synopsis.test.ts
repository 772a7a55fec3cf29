import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findCommand } from '../../src/cli/command-table.js';
import { declaredOptions, optionNamed } from '../../src/cli/command-options.js';
import { REPO_ROOT } from '../helpers/make-run.js';
import { readSynopsis } from '../helpers/readme-transcripts.js';

/**
 * The README's usage lines (```sh blocks: the CLI synopsis and the other `tq …` lines) name
 * only commands and options that exist: a renamed option fails here, not in a newcomer's shell.
 */
const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
const lines = readSynopsis(readme);

describe('README usage lines', () => {
  it('there are usage lines, one per command at least', () => {
    expect(lines.length).toBeGreaterThanOrEqual(20);
  });
  it.each(lines.map((l) => [l.line, l.text] as const))('line %i: %s', async (_line, text) => {
    const words = text.split(/\s+/);
    const entry = findCommand(words[1] as string);
    expect(entry, `no command "${String(words[1])}"`).toBeDefined();
    if (!entry) return;
    const cmd = declaredOptions(await entry.load());
    // Why only the part before `--`: what follows it is the program tq work runs.
    const own = text.split(' -- ')[0] as string;
    for (const m of own.matchAll(/(?<![\w-])--([a-z][a-z0-9-]*)/g)) {
      expect(optionNamed(cmd, `--${m[1] as string}`), `tq ${entry.command.split(' ')[0]} has no --${m[1] as string}`).toBeDefined();
    }
  });
});
