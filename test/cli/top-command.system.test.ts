import { spawn, spawnSync } from 'node:child_process';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { captureIo, runTq } from '../helpers/capture-io.js';
import { BIN, ensureDistBuilt } from '../helpers/build-dist.js';
import { spawnCollect } from '../helpers/run-bin.js';
import { makeObservedRun } from '../helpers/observed-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

const ESC = '\u001b';
const COLOUR_RE = /\u001b\[3[0-9]m/;

let root: string;
beforeAll(async () => {
  await ensureDistBuilt();
});
beforeEach(async () => {
  root = await makeTempDir('tq-cli-top-');
  await makeObservedRun(root);
});
afterEach(async () => {
  await removeDir(root);
});

describe('tq top / tq status --watch, piped', () => {
  it('prints one plain status line per refresh and stops after --count', async () => {
    const r = await runTq(root, ['top', 'gallia', '--count', '3', '--interval', '10ms']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    for (const l of lines) {
      expect(l).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z gallia \| parse 2\/3 \| translate 2\/2 \| curate 0\/2 \(1 active\) \| claims 1 \| concerns 1 error 1 review 0 info$/);
    }
    expect(r.stdout).not.toContain(ESC);
  });

  it('status --watch --once is the same view, once', async () => {
    const r = await runTq(root, ['status', 'gallia', '--watch', '--once']);
    expect(r.code).toBe(0);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stdout).toContain('gallia | parse 2/3');
  });

  it('--json prints one snapshot per refresh, each with schema_version', async () => {
    const r = await runTq(root, ['top', 'gallia', '--count', '2', '--interval', '10ms', '--json']);
    const snaps = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { schema_version: number; stages: { stage: string; completed: number }[]; claims: unknown[] });
    expect(snaps).toHaveLength(2);
    for (const s of snaps) {
      expect(s.schema_version).toBe(1);
      expect(s.stages.map((st) => [st.stage, st.completed])).toEqual([['parse', 2], ['translate', 2], ['curate', 0]]);
      expect(s.claims).toHaveLength(1);
    }
  });

  it('refuses a bad --count or --interval as usage errors', async () => {
    expect((await runTq(root, ['top', 'gallia', '--count', '0'])).code).toBe(2);
    expect((await runTq(root, ['top', 'gallia', '--once', '--interval', 'soon'])).code).toBe(2);
  });
});

describe('tq top until Ctrl-C', () => {
  it('stops cleanly on SIGINT (exit 0) and, with --json, ends with the latest snapshot', async () => {
    const child = spawn(process.execPath, [BIN, '--root', root, 'top', 'gallia', '--json', '--interval', '50ms'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await waitFor(() => out.split('\n').length > 2, 10_000, 'two snapshots');
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    const lines = out.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const l of lines) expect(JSON.parse(l)).toMatchObject({ schema_version: 1, run_id: 'gallia' });
  });
});

describe('tq top on a terminal', () => {
  it('redraws in place (in-process, io.isTTY), with colour unless NO_COLOR is set', async () => {
    for (const env of [{}, { NO_COLOR: '1' }]) {
      const c = captureIo('', env);
      const code = await main(['--root', root, 'top', 'gallia', '--count', '2', '--interval', '10ms'], { ...c.io, isTTY: true });
      expect(code).toBe(0);
      const out = c.out();
      expect(out).toContain('#1');
      expect(out).toContain('#2');
      // log-update's redraw: erase line + cursor up, between the two frames
      expect(out.indexOf(`${ESC}[2K${ESC}[1A`)).toBeGreaterThan(out.indexOf('#1'));
      expect(COLOUR_RE.test(out)).toBe('NO_COLOR' in env ? false : true);
    }
  });

  it('redraws with escape sequences in a real pseudo-terminal (script(1))', async () => {
    expect(spawnSync('script', ['--version']).status, 'script(1) from util-linux is needed for this test').toBe(0);
    // No stty: a fresh pty reports a 0x0 size, which once made log-update draw nothing at all.
    const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} --root ${JSON.stringify(root)} top gallia --count 2 --interval 50ms`;
    const r = await spawnCollect('script', ['-qfec', cmd, '/dev/null'], { env: { NO_COLOR: '' } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('tq top gallia');
    expect(r.stdout).toContain(`${ESC}[2K${ESC}[1A`);
    expect(r.stdout).toMatch(/curate\s+\u001b\[32m░+\u001b\[0m\s+0%\s+0\/2\s+1 claimed/);
    expect(r.stdout).toContain(`${ESC}[?25h`); // the cursor is given back
  });
});
