import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { completeNames } from '../../src/cli/complete-names.js';
import { captureIo } from '../helpers/capture-io.js';
import { main } from '../../src/cli/main.js';
import { makeRun } from '../helpers/make-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';

let root: string;
beforeEach(async () => {
  root = await makeTempDir('tq-complete-');
  await makeRun(root, 'gallia');
  await makeRun(root, 'gamma');
});
afterEach(async () => {
  await removeDir(root);
});

describe('completeNames: run and stage names', () => {
  it.each([
    [['tq', 'claim', 'g'], ['gallia', 'gamma']],
    [['tq', 'status', ''], ['gallia', 'gamma']],
    [['tq', 'show', 'gal'], ['gallia']],
    [['tq', 'daemon', 'gallia', ''], ['gallia', 'gamma']],
    [['tq', 'claim', 'gallia', '--type', ''], ['parse', 'translate', 'curate']],
    [['tq', 'claim', 'gallia', '--worker', 'w', '--type', 'tr'], ['translate']],
    [['tq', 'list', 'gallia', '--json', '--type', 'c'], ['curate']],
    [['tq', 'schema', 'ticket', '--run', 'ga'], ['gallia', 'gamma']],
    [['claim', 'ga'], ['gallia', 'gamma']], // fish passes the words without the program name
  ])('%j -> %j', async (words, names) => {
    expect(await completeNames(words, root)).toEqual(names);
  });

  it('reads --root from the line', async () => {
    const other = join(root, 'gallia');
    expect(await completeNames(['tq', '--root', other, 'status', ''], root)).toEqual([]);
    expect(await completeNames(['tq', 'status', '--root', other, ''], root)).toEqual([]);
    expect(await completeNames(['tq', '--root', root, 'status', 'gam'], '/nowhere')).toEqual(['gamma']);
  });

  it.each([
    [['tq', 'st']], // a command: yargs completes commands
    [['tq', 'create', '']], // a new run: nothing to complete from
    [['tq', 'claim', 'gallia', '--']], // an option: yargs completes options
    [['tq', 'graph', 'gallia', '--format', '']], // choices: yargs
    [['tq', 'show', 'gallia', '']], // a ticket id
  ])('%j is left to yargs', async (words) => {
    expect(await completeNames(words, root)).toBeUndefined();
  });

  it('a stage of a run that does not exist completes to nothing', async () => {
    expect(await completeNames(['tq', 'claim', 'nope', '--type', ''], root)).toEqual([]);
  });
});

describe('tq --get-yargs-completions', () => {
  it('answers run and stage names itself, and leaves commands and options to yargs', async () => {
    const complete = async (...words: string[]): Promise<string[]> => {
      const c = captureIo('', { TQ_ROOT: root });
      expect(await main(['--get-yargs-completions', ...words], c.io)).toBe(0);
      return c.out().split('\n').filter(Boolean);
    };
    expect(await complete('tq', 'claim', 'gal')).toEqual(['gallia']);
    expect(await complete('tq', 'claim', 'gallia', '--type', 'p')).toEqual(['parse']);
    expect(await complete('tq', 'st')).toEqual(expect.arrayContaining(['status', 'stats']));
    expect(await complete('tq', 'graph', 'gallia', '--fo')).toContain('--format');
  });
});
