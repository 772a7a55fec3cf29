/**
 * The CLI's self-description holds for every command: each option and positional says what it
 * is, `tq <command> --help` starts with the command's shape, the --json help says where errors
 * go, and every duration option is read by the one duration parser ("2s", "500ms"; a bare
 * number is seconds) wherever it appears.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/command-table.js';
import { declaredOptions } from '../../src/cli/command-options.js';
import { EXAMPLE_PIPELINE_FILE } from '../helpers/make-run.js';
import { jsonOf, runTq, type Captured } from '../helpers/capture-io.js';
import { hashTree } from '../helpers/run-invariants.js';
import { useCliTempRoot } from '../helpers/cli-temp-root.js';

const tmp = useCliTempRoot();

const tq = (...argv: string[]): Promise<Captured> => runTq(tmp.root, argv);
const nameOf = (command: string): string => command.split(' ')[0] as string;

describe('every command describes itself', () => {
  it('every option and positional of every command has a description', async () => {
    const missing: string[] = [];
    let seen = 0;
    for (const entry of COMMANDS) {
      const cmd = declaredOptions(await entry.load());
      for (const o of [...cmd.positionals, ...cmd.options]) {
        seen += 1;
        if (!o.describe || o.describe.trim() === '') missing.push(`${nameOf(entry.command)} ${o.name}`);
      }
    }
    expect(seen).toBeGreaterThan(60);
    expect(missing).toEqual([]);
  });

  it.each(COMMANDS.map((c) => [nameOf(c.command), c] as const))('tq %s --help starts with its usage line and description', async (name, entry) => {
    const r = await tq(name, '--help');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(`tq ${entry.usage} [options]`);
    // Why whitespace folded: yargs wraps a long description.
    expect(r.stdout.replace(/\s+/g, ' ')).toContain(` [options] ${entry.describe} `);
    // Every positional in the command is in its usage line.
    for (const word of entry.command.split(' ').slice(1)) expect(entry.usage).toContain(word.replace(/[<>[\].]/g, '').replace(/s$/, ''));
  });

  it('the --json help says errors are JSON on stderr', async () => {
    const r = await tq('--help');
    expect(r.stdout).toMatch(/--json\s+print one JSON object with schema_version on stdout; an error is one JSON object/);
    expect(r.stdout.replace(/\s+/g, ' ')).toContain('{schema_version, error: {code, message, ...}} on stderr');
  });
});

/** The options that are lengths of time, per command. */
const DURATION_OPTIONS = ['claim lease', 'heartbeat lease', 'status interval', 'status window', 'top interval', 'top window', 'fsck settle', 'demo timeout', 'daemon interval', 'daemon settle', 'daemon file-settle', 'daemon commit', 'work lease', 'work timeout'];

describe('durations mean the same everywhere', () => {
  it('every duration option is a string for the one parser, and no option is in ms or seconds', async () => {
    const found: string[] = [];
    for (const entry of COMMANDS) {
      for (const o of declaredOptions(await entry.load()).options) {
        const id = `${nameOf(entry.command)} ${o.name}`;
        if (/lease|interval|window|settle|timeout|commit/.test(o.name)) {
          found.push(id);
          expect(o.type, id).toBe('string');
        }
        if (o.name !== 'duration-ms') expect(o.describe ?? '', id).not.toMatch(/\bms\b|millisecond|seconds/);
      }
    }
    expect(found.sort()).toEqual([...DURATION_OPTIONS].sort());
  });

  it('daemon, fsck and top take "2s", "500ms", "0" where a wait may be skipped, and refuse the rest before doing anything', async () => {
    const input = join(tmp.dir, 'in.jsonl');
    await writeFile(input, '{"id":"a"}\n');
    expect((await tq('create', 'demo', '--pipeline', EXAMPLE_PIPELINE_FILE, '--input', input)).code).toBe(0);
    expect((await tq('daemon', 'demo', '--once', '--interval', '2s', '--settle', '2s', '--file-settle', '500ms')).code).toBe(0);
    expect((await tq('fsck', 'demo', '--settle', '2s')).code).toBe(0);
    expect((await tq('fsck', 'demo', '--settle', '0')).code).toBe(0);
    expect((await tq('top', 'demo', '--once', '--interval', '1s', '--window', '5m')).code).toBe(0);
    const before = await hashTree(tmp.dir);
    for (const [argv, message] of [
      [['daemon', 'demo', '--once', '--interval', 'soon'], 'interval: "soon" is not a duration'],
      [['daemon', 'demo', '--once', '--interval', '5ms'], '--interval "5ms" is shorter than the 10ms it must be at least'],
      [['daemon', 'demo', '--once', '--settle=-1'], 'settle: "-1" is not a duration'],
      [['fsck', 'demo', '--repair', '--settle', '2 seconds'], 'settle: "2 seconds" is not a duration'],
      [['top', 'demo', '--once', '--window', 'nope'], 'window: "nope" is not a duration'],
      [['demo', '--fast', '--timeout', 'later'], 'timeout: "later" is not a duration'],
      [['claim', 'demo', '--type', 'parse', '--worker', 'w1', '--lease', '0'], 'lease: "0" is not a duration'],
    ] as const) {
      const r = await tq(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr, argv.join(' ')).toContain(message);
    }
    expect(await hashTree(tmp.dir)).toBe(before);
  });

  it('a bare number is seconds, for a lease as for every other duration', async () => {
    const input = join(tmp.dir, 'in.jsonl');
    await writeFile(input, '{"id":"a"}\n');
    expect((await tq('create', 'demo', '--pipeline', EXAMPLE_PIPELINE_FILE, '--input', input)).code).toBe(0);
    const r = await tq('claim', 'demo', '--type', 'parse', '--worker', 'w1', '--lease', '90', '--json');
    expect(r.code, r.stderr).toBe(0);
    const t = jsonOf(r.stdout).ticket as { ticket_id: string; claim: { claimed_at: string; lease_expires_at: string } };
    expect(Date.parse(t.claim.lease_expires_at) - Date.parse(t.claim.claimed_at)).toBe(90_000);
    expect(JSON.parse(await readFile(join(tmp.root, 'demo', 'claimed', 'w1', `${t.ticket_id}.json`), 'utf8'))).toMatchObject({ claim: { lease_expires_at: t.claim.lease_expires_at } });
  });
});
