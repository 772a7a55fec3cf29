/**
 * One way to run tq, printed the same everywhere: `npm link` puts `tq` on the PATH (README), and
 * every command shown to a user (README, AGENTS.md, --help examples) is a plain `tq …`. The bin
 * is committed executable, so `npm link` or `npx` leave `git status` clean.
 */
import { constants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/command-table.js';
import { REPO_ROOT, makeRun } from '../helpers/make-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';

let root: string;
beforeEach(async () => {
  root = await makeTempDir();
});
afterEach(async () => {
  await removeDir(root);
});

describe('the tq command, printed one way', () => {
  it('bin/tq.js is executable', async () => {
    await expect(access(join(REPO_ROOT, 'bin', 'tq.js'), constants.X_OK)).resolves.toBeUndefined();
  });

  it('the README says how to get tq on the PATH and never prints another form', async () => {
    const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
    expect(readme).toContain('`npm link`');
    expect(readme).not.toMatch(/npx tq|node bin\/tq\.js (?!demo)/);
  });

  it('every --help example and AGENTS.md command line starts with plain tq', async () => {
    for (const entry of COMMANDS) {
      for (const [example] of (await entry.load()).examples) expect(example, entry.command).toMatch(/^\$0 /);
    }
    const { ctx } = await makeRun(root);
    const agents = await readFile(ctx.paths.agents, 'utf8');
    const lines = agents.split('\n').filter((l) => /\btq (claim|heartbeat|submit|release) /.test(l));
    expect(lines.length).toBeGreaterThanOrEqual(4);
    for (const l of lines) expect(l, l).toMatch(/^tq /);
    expect(agents).not.toMatch(/npx tq/);
  });
});
