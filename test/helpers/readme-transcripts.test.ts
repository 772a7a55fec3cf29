import { describe, expect, it } from 'vitest';
import { lineShape, outputMatchesShape, readSynopsis, readTranscripts } from './readme-transcripts.js';

const md = [
  '# Tour',
  '```console',
  '$ tq create gallia --pipeline p.json',
  'created run gallia at runs/gallia (stages: parse -> translate)',
  '$ tq claim gallia --type parse --worker me   # exit 3',
  'tq: nothing to claim',
  '$ tq submit gallia parse-0mwxhtwx80013-0wqjc --worker me \\',
  '    --output out.json',
  'completed parse-0mwxhtwx80013-0wqjc',
  '```',
  '## CLI',
  '```sh',
  'tq status <run>          # counts',
  'tq top <run>  |  tq status <run> --watch',
  'npm test',
  '```',
].join('\n');

describe('readTranscripts', () => {
  it('reads commands, continuation lines, exit codes and expected output', () => {
    const [t] = readTranscripts(md);
    expect(t?.section).toBe('Tour');
    expect(t?.steps.map((s) => [s.command, s.exitCode, s.expected])).toEqual([
      ['tq create gallia --pipeline p.json', 0, ['created run gallia at runs/gallia (stages: parse -> translate)']],
      ['tq claim gallia --type parse --worker me', 3, ['tq: nothing to claim']],
      ['tq submit gallia parse-0mwxhtwx80013-0wqjc --worker me --output out.json', 0, ['completed parse-0mwxhtwx80013-0wqjc']],
    ]);
    expect(t?.steps[2]?.line).toBe(7);
  });
  it('reads synopsis lines, split at |', () => {
    expect(readSynopsis(md).map((s) => s.text)).toEqual(['tq status <run>', 'tq top <run>', 'tq status <run> --watch']);
  });
});

describe('outputMatchesShape', () => {
  it('matches lines whose ids, numbers and widths differ, and pairs the ids', () => {
    const m = outputMatchesShape(['parse      1/50 done', '...', 'completed parse-0mwxhtwx80013-0wqjc in 1.2s'], ['parse  12/50 done', 'other', 'completed parse-0mx1aaaaa0001-zzzzz in 30ms']);
    expect(m.ok).toBe(true);
    expect(m.ids.get('parse-0mwxhtwx80013-0wqjc')).toBe('parse-0mx1aaaaa0001-zzzzz');
  });
  it('fails on a line of another shape, or lines out of order', () => {
    expect(outputMatchesShape(['completed 1'], ['failed 1']).missing).toBe('completed 1');
    expect(outputMatchesShape(['b', 'a'], ['a', 'b']).ok).toBe(false);
  });
  it('shapes timestamps and run stamps', () => {
    expect(lineShape('at 2026-11-26T11:02:00.000Z in runs/gallia-demo-20261126-115257')).toBe('at <time> in runs/gallia-demo-<stamp>');
  });
});
