import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureDistBuilt } from '../helpers/build-dist.js';
import { REPO_ROOT } from '../helpers/make-run.js';

/**
 * The board is loaded only by `tq board`: the CLI's bundle holds none of src/board/ (it requires
 * dist/bundle/board.cjs from `tq board` alone), so every other command starts as before.
 */
const BUNDLE = join(REPO_ROOT, 'dist', 'bundle');

beforeAll(async () => {
  await ensureDistBuilt();
});

describe('the board in the build', () => {
  it('is a file apart from the CLI bundle', async () => {
    const meta = JSON.parse(await readFile(join(BUNDLE, 'meta.json'), 'utf8')) as { inputs: Record<string, unknown> };
    const boardInputs = Object.keys(meta.inputs).filter((f) => f.includes('src/board/'));
    expect(boardInputs).toEqual([]);
    expect(Object.keys(meta.inputs).some((f) => f.includes('src/cli/commands/board-command.ts'))).toBe(true);
    expect(await readFile(join(BUNDLE, 'tq.cjs'), 'utf8')).toContain('require("./board.cjs")');
    expect(await readFile(join(BUNDLE, 'board.cjs'), 'utf8')).toContain('tq_board_token');
  });

  it('has its page built into dist/board/static', async () => {
    const html = await readFile(join(REPO_ROOT, 'dist', 'board', 'static', 'index.html'), 'utf8');
    expect(html).toContain('<script src="/assets/board.js"></script>');
    expect(html).not.toMatch(/<script>[^<]/); // no inline script (the CSP would refuse it)
    expect((await readFile(join(REPO_ROOT, 'dist', 'board', 'static', 'board.js'), 'utf8')).length).toBeGreaterThan(1000);
  });
});
