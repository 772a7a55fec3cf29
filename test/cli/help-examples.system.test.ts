import { spawn } from 'node:child_process';
import { cp, mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/command-table.js';
import { ensureDistBuilt } from '../helpers/build-dist.js';
import { REPO_ROOT } from '../helpers/make-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';
import { runShellLine, writeTqShim } from '../helpers/tq-shell.js';

/**
 * Every example in every `tq <command> --help` is run, as typed, by a newcomer's shell: in a
 * directory holding the gallia example (pipeline.json, walks.jsonl, out.json, more.jsonl) and
 * a run `gallia` with a ticket in each state an example needs. The ids the examples show are
 * mapped to real tickets in that state. Each must exit 0.
 */

/** Examples that run until Ctrl-C: each must start (print or write its log) and exit cleanly on SIGINT. */
const UNTIL_CTRL_C = new Set([
  '$0 daemon gallia',
  '$0 daemon --json 2>daemon.log',
  '$0 daemon gallia --commit=10m',
  '$0 daemon gallia --interval 500ms --settle 2s',
  '$0 status gallia --watch',
  '$0 top gallia',
  '$0 top gallia --interval 30s >> progress.log',
  '$0 work gallia --stage translate --concurrency 4 -- ./examples/llm-translate.sh',
  '$0 board',
  '$0 board gallia --allow-actions',
  '$0 board --host 0.0.0.0 --port 8080',
]);

/** Examples that need what a test machine lacks or have their own test, and why. */
const NOT_RUN: Record<string, string> = {
  '$0 demo': 'the demo has its own test (test/demo)',
  '$0 demo --fast': 'the demo has its own test (test/demo)',
  '$0 completion --shell zsh > "${fpath[1]}/_tq"': 'zsh syntax; sh cannot expand ${fpath[1]}',
  '$0 work gallia --stage parse --until-empty --timeout 2m -- python3 parse.py {input}': 'parse.py is the reader\'s own program',
};

const PARSE_OUT = { walk_id: 'walk-001', beats: [{ node_id: '0x157263', speaker: 'Courier', text: 'Papers, please.', function: 'challenge' }] };
const TRANSLATE_OUT = {
  walk_id: 'walk-001',
  translated_texts: [{ node_id: '0x157263', text: 'Vos papiers, s’il vous plaît.' }],
  new_nouns: [{ noun: 'Hexagone', source: 'Hexagon', node_ids: ['0x157263'] }],
};

/**
 * Start a line that serves until Ctrl-C; once it has printed (or written the file it is
 * redirected to), send SIGINT as a terminal would. Why `exec`: the signal must reach tq, not sh.
 */
async function runUntilInterrupted(line: string, cwd: string): Promise<{ started: boolean; code: number | null; output: string }> {
  const child = spawn('sh', ['-c', `exec ${line}`], { cwd, env: { ...process.env, PATH: `${shim}:${process.env.PATH ?? ''}`, TQ_DURABILITY: 'none', NO_COLOR: '1', TQ_ROOT: '', HOME: cwd }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const redirect = /(?:>>|2>|>)\s*(\S+)\s*$/.exec(line)?.[1];
  const hasPrinted = async (): Promise<boolean> => output.length > 0 || (redirect !== undefined && ((await stat(join(cwd, redirect)).catch(() => undefined))?.size ?? 0) > 0);
  let started = false;
  try {
    await waitFor(hasPrinted, 10_000, `${line} to print something`);
    started = true;
  } catch {
    started = false;
  }
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await exited;
  clearTimeout(timer);
  return { started, code, output };
}

let shim = '';
let prepared = '';
const dirs: string[] = [];
/** Example ids (as the help prints them) → real ids in the prepared run. */
const ids = new Map<string, string>();

async function tqIn(cwd: string, line: string): Promise<string> {
  const r = await runShellLine(line, cwd, shim);
  if (r.code !== 0) throw new Error(`preparing: ${line} exited ${String(r.code)}: ${r.stdout}`);
  return r.stdout;
}

async function claimId(cwd: string, stage: string, worker: string): Promise<string> {
  const out = JSON.parse(await tqIn(cwd, `tq claim gallia --type ${stage} --worker ${worker} --json`)) as { ticket: { ticket_id: string } };
  return out.ticket.ticket_id;
}

beforeAll(async () => {
  await ensureDistBuilt();
  shim = await makeTempDir('tq-help-bin-');
  prepared = await makeTempDir('tq-help-');
  dirs.push(shim, prepared);
  await writeTqShim(shim);
  await cp(join(REPO_ROOT, 'examples'), join(prepared, 'examples'), { recursive: true });
  await cp(join(REPO_ROOT, 'examples', 'gallia'), prepared, { recursive: true });
  await writeFile(join(prepared, 'more.jsonl'), '{"id": "walk-901", "nodes": [{"node_id": "0x1a0001", "speaker": "Clerk", "text": "Next."}]}\n');
  await writeFile(join(prepared, 'parse.json'), JSON.stringify(PARSE_OUT));
  await writeFile(join(prepared, 'out.json'), JSON.stringify(TRANSLATE_OUT));
  await tqIn(prepared, 'tq create gallia --pipeline pipeline.json --input walks.jsonl');
  // Two failed parse tickets (requeue), one completed whose translate child agent-7 holds.
  for (const example of ['parse-mi0x2k3c000-a7f3z', 'parse-mi0x2k3c001-b81kq']) {
    const id = await claimId(prepared, 'parse', 'w0');
    await tqIn(prepared, `tq submit gallia ${id} --worker w0 --output parse.json --status failed`);
    ids.set(example, id);
  }
  const parse = await claimId(prepared, 'parse', 'w0');
  await tqIn(prepared, `tq submit gallia ${parse} --worker w0 --output parse.json`);
  // A translate that found "Hexagone": its curate child goes to needs_review (approve, lineage).
  const translate = await claimId(prepared, 'translate', 'w0');
  await tqIn(prepared, `tq submit gallia ${translate} --worker w0 --output out.json`);
  const curate = await claimId(prepared, 'curate', 'w0');
  await writeFile(join(prepared, 'curate.json'), JSON.stringify({ noun: 'Hexagone', verdict: 'APPROVE', rationale: 'fits the register' }));
  await tqIn(prepared, `tq submit gallia ${curate} --worker w0 --output curate.json --status needs_review`);
  ids.set('curate-k-hexagone-1a2b3c4d5e', curate);
  // Another parse → translate, so agent-7 can hold a translate ticket (submit, heartbeat, release, show).
  const parse2 = await claimId(prepared, 'parse', 'w0');
  await tqIn(prepared, `tq submit gallia ${parse2} --worker w0 --output parse.json`);
  const held = await claimId(prepared, 'translate', 'agent-7');
  ids.set('translate-mi0x2k3c000-a7f3z', held);
  // The submit-batch example hands in agent-7's ticket from a JSONL file.
  await writeFile(join(prepared, 'outs.jsonl'), `${JSON.stringify({ ticket_id: held, output_data: TRANSLATE_OUT })}\n`);
  // And one translate left pending, for the claim example.
  const parse3 = await claimId(prepared, 'parse', 'w0');
  await tqIn(prepared, `tq submit gallia ${parse3} --worker w0 --output parse.json`);
  await tqIn(prepared, 'git init -q . && git add -A && git -c user.name=t -c user.email=t@t commit -qm start');
});
afterAll(async () => {
  await Promise.all(dirs.map(removeDir));
});

const examples = (await Promise.all(COMMANDS.map(async (c) => (await c.load()).examples))).flat();

describe('every --help example runs as shown', () => {
  it('the commands have examples', () => {
    expect(examples.length).toBeGreaterThan(COMMANDS.length);
  });
  it.each(examples.map(([cmd]) => cmd))('%s', async (example) => {
    const why = NOT_RUN[example];
    if (why) {
      console.log(`not run: ${example} (${why})`);
      return;
    }
    const cwd = await makeTempDir('tq-help-run-');
    dirs.push(cwd);
    await cp(prepared, cwd, { recursive: true });
    let line = example.replace(/^\$0 /, 'tq ');
    for (const [shown, real] of ids) line = line.split(shown).join(real);
    // Why: the create example makes the run the others find ready; it gets an empty root.
    if (/^tq create gallia /.test(line)) line = line.replace('tq create gallia ', 'tq create gallia2 ');
    // Why: fish makes ~/.config/fish/completions/ at its first start; this HOME has never run fish.
    if (line.includes('~/.config/fish/')) await mkdir(join(cwd, '.config', 'fish', 'completions'), { recursive: true });
    if (/--root \/data\/runs/.test(line)) await mkdir(join(cwd, 'data-runs'));
    line = line.replace('--root /data/runs', '--root data-runs');
    if (/\| dot /.test(line) && (await runShellLine('command -v dot', cwd, shim)).code !== 0) {
      console.log(`not run: ${example} (Graphviz dot is not installed)`);
      return;
    }
    if (UNTIL_CTRL_C.has(example)) {
      const r = await runUntilInterrupted(line, cwd);
      expect(r.started, `${line} printed nothing within the wait:\n${r.output}`).toBe(true);
      expect([0, 130], `${line} after Ctrl-C exited ${String(r.code)}:\n${r.output}`).toContain(r.code);
      return;
    }
    const r = await runShellLine(line, cwd, shim);
    expect(r.code, `${line}\n${r.stdout}`).toBe(0);
  });
});
