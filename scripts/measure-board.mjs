#!/usr/bin/env node
// How long `tq board` takes to show a run of 100,000 tickets: writes the run with bare fs calls
// (parse: 50,000 completed; translate: 30,000 completed, 20,000 pending), starts the built
// `tq board`, loads the run page in Debian's chromium (playwright-core) and measures, from the
// navigation's start, the time until every stage column shows its first rows; then how long a
// jump to the middle of a 50,000-ticket column takes to show rows there, and how many rows are
// in the DOM (the lists are virtual). Usage: npm run build && node scripts/measure-board.mjs [N]
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile, link } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const TOTAL = Number(process.argv[2] ?? 100_000);
const RUNS = 3;

function ticket(stage, id, state, i) {
  const at = new Date(Date.UTC(2026, 0, 1, 0, 0, i % 3600)).toISOString();
  return JSON.stringify({
    ticket_id: id, run_id: 'bench', worker_type: stage, status: state,
    input_data: { id: `item-${i}`, text: `line ${i}` },
    output_data: state === 'completed' ? { ok: true } : null,
    worker_concerns: [], usage: null, attempts: 0, claim_count: state === 'completed' ? 1 : 0, claim: null,
    lineage: { parents: [], root_id: id, source_refs: [`0x${i.toString(16)}`] },
    created_at: at, completed_at: state === 'completed' ? at : null,
    history: [{ at, event: 'created', to: 'pending' }],
  });
}

async function writeRun(root) {
  execFileSync(process.execPath, [join(ROOT, 'bin', 'tq.js'), 'create', 'bench', '--pipeline', join(ROOT, 'examples', 'pipeline.json'), '--root', root], { env: { ...process.env, TQ_DURABILITY: 'none' } });
  const run = join(root, 'bench');
  const plan = [['parse', 'completed', TOTAL / 2], ['translate', 'completed', (TOTAL * 3) / 10], ['translate', 'pending', TOTAL / 5]];
  let i = 0;
  for (const [stage, state, n] of plan) {
    await mkdir(join(run, state, stage), { recursive: true });
    await mkdir(join(run, 'registry', stage), { recursive: true });
    for (let k = 0; k < n; k += 1, i += 1) {
      const id = `${stage}-bench${String(i).padStart(7, '0')}-x`;
      const file = join(run, state, stage, `${id}.json`);
      await writeFile(file, ticket(stage, id, state, i));
      await link(file, join(run, 'registry', stage, `${id}.json`));
    }
  }
  return i;
}

async function startBoard(root) {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'tq.js'), 'board', '--port', '0', '--root', root], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  for (;;) {
    const m = /board: (http:\S+?\/)\s/.exec(err);
    if (m) return { child, url: m[1] };
    if (child.exitCode !== null) throw new Error(err);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function measure(browser, url) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`${url}run/bench`, { waitUntil: 'commit' });
  await page.waitForFunction(() => [...document.querySelectorAll('.column')].length === 3 && [...document.querySelectorAll('.column')].every((c) => c.querySelector('.row') || c.querySelector('.count')?.textContent === '0'), null, { timeout: 60_000, polling: 'raf' });
  const firstRows = await page.evaluate(() => performance.now());
  const jump = await page.evaluate(async () => {
    const list = document.querySelector('.column[data-stage=parse] .vlist');
    const t0 = performance.now();
    list.scrollTop = list.scrollHeight / 2;
    const want = Math.floor(list.scrollTop / 26);
    for (;;) {
      const rows = [...list.querySelectorAll('.row')].map((r) => parseInt(r.style.top, 10) / 26);
      if (rows.some((n) => Math.abs(n - want) < 5)) return performance.now() - t0;
      await new Promise((r) => requestAnimationFrame(r));
    }
  });
  const domRows = await page.evaluate(() => document.querySelectorAll('.row').length);
  const counts = await page.$$eval('.column .count', (els) => els.map((e) => e.textContent));
  await page.close();
  return { firstRows, jump, domRows, counts };
}

const root = await mkdtemp(join(tmpdir(), 'tq-board-bench-'));
try {
  const t0 = Date.now();
  const n = await writeRun(root);
  console.log(`wrote ${n} tickets in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  const results = [];
  for (let r = 0; r < RUNS; r += 1) {
    // A fresh board each time: its listing cache is cold, as when someone opens the page.
    const board = await startBoard(root);
    results.push(await measure(browser, board.url));
    board.child.kill('SIGINT');
    await new Promise((res) => board.child.on('exit', res));
  }
  await browser.close();
  for (const x of results) console.log(`run page: first rows in every column ${x.firstRows.toFixed(0)} ms; jump to the middle of parse ${x.jump.toFixed(0)} ms; ${x.domRows} rows in the DOM; columns ${x.counts.join(', ')}`);
  const sorted = results.map((x) => x.firstRows).sort((a, b) => a - b);
  console.log(`median time to first rows: ${sorted[Math.floor(sorted.length / 2)].toFixed(0)} ms (${TOTAL} tickets, ${RUNS} cold starts)`);
} finally {
  await rm(root, { recursive: true, force: true });
}
