import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { concernsFromArgs, parseConcernArg } from '../../src/cli/concern-args.js';
import { EXAMPLE_PIPELINE_FILE } from '../helpers/make-run.js';
import { jsonOf, runTq, type Captured } from '../helpers/capture-io.js';
import { useCliTempRoot } from '../helpers/cli-temp-root.js';

describe('--concern LEVEL:MESSAGE', () => {
  it('only the first colon separates the level; the rest, colons and all, is the message', () => {
    expect(parseConcernArg('info:checked a: b')).toEqual({ level: 'info', message: 'checked a: b' });
    expect(parseConcernArg(' review : Odd idiom:check line 3 ')).toEqual({ level: 'review', message: 'Odd idiom:check line 3' });
  });

  it('refuses an unknown level or an empty message', () => {
    expect(() => parseConcernArg('urgent:x')).toThrow(/must start with info:, review: or error:/);
    expect(() => parseConcernArg('no colon')).toThrow(/must start with/);
    expect(() => parseConcernArg('error:  ')).toThrow(/the message is empty/);
  });
});

describe('--suggestion belongs to the --concern before it', () => {
  it('pairs by order on the line, not by count', () => {
    const argv = ['submit', 'r', 't', '--concern', 'info:a', '--concern=review:b: c', '--suggestion', 'for b', '--worker', 'w', '--concern', 'error:d', '--suggestion=for d'];
    expect(concernsFromArgs(['info:a', 'review:b: c', 'error:d'], ['for b', 'for d'], argv)).toEqual([
      { level: 'info', message: 'a' },
      { level: 'review', message: 'b: c', suggestion: 'for b' },
      { level: 'error', message: 'd', suggestion: 'for d' },
    ]);
  });

  it('refuses a suggestion before any concern, or two for one concern', () => {
    expect(() => concernsFromArgs(['info:a'], ['s'], ['--suggestion', 's', '--concern', 'info:a'])).toThrow('--suggestion must come after the --concern it belongs to');
    expect(() => concernsFromArgs(['info:a'], ['s', 't'], ['--concern', 'info:a', '--suggestion', 's', '--suggestion', 't'])).toThrow('has two --suggestion options');
  });

  it('ignores words after --', () => {
    expect(concernsFromArgs([], [], ['--', '--concern'])).toEqual([]);
  });
});

describe('tq submit --concern --suggestion', () => {
  const tmp = useCliTempRoot();
  const tq = (...argv: string[]): Promise<Captured> => runTq(tmp.root, argv);

  it('stores the message with its colons and each suggestion with its concern (fast and yargs parsers alike)', async () => {
    const input = join(tmp.dir, 'in.jsonl');
    await writeFile(input, '{"id":"a"}\n{"id":"b"}\n');
    const out = join(tmp.dir, 'out.json');
    await writeFile(out, '{"text":"x"}');
    expect((await tq('create', 'demo', '--pipeline', EXAMPLE_PIPELINE_FILE, '--input', input)).code).toBe(0);
    // The second line has `--json=true`, which the fast parser leaves to yargs.
    for (const lead of [[], ['--json=true']]) {
      const claim = await tq('claim', 'demo', '--type', 'parse', '--worker', 'w1', '--json');
      const id = (jsonOf(claim.stdout).ticket as { ticket_id: string }).ticket_id;
      const r = await tq(...lead, 'submit', 'demo', id, '--worker', 'w1', '--output', out, '--concern', 'info:checked a: b', '--concern', 'review:Ambiguous speaker', '--suggestion', 'check node 0x14: the second', '--json');
      expect(r.code, r.stderr).toBe(0);
      expect((jsonOf(r.stdout).ticket as { worker_concerns: unknown[] }).worker_concerns).toEqual([
        expect.objectContaining({ level: 'info', message: 'checked a: b' }),
        expect.objectContaining({ level: 'review', message: 'Ambiguous speaker', suggestion: 'check node 0x14: the second' }),
      ]);
      expect((jsonOf(r.stdout).ticket as { worker_concerns: { suggestion?: string }[] }).worker_concerns[0]?.suggestion).toBeUndefined();
    }
  });

  it('a misplaced --suggestion is a usage error, and --help shows the form', async () => {
    const r = await tq('submit', 'demo', 't', '--worker', 'w1', '--suggestion', 's', '--concern', 'info:a');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--suggestion must come after the --concern it belongs to');
    const help = await tq('submit', '--help');
    expect(help.stdout).toMatch(/--concern\s+LEVEL:MESSAGE, LEVEL one of info, review, error; only the first colon splits/);
    expect(help.stdout).toMatch(/--suggestion\s+a suggestion for the --concern just before it/);
  });
});
