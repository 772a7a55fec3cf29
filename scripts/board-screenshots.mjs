#!/usr/bin/env node
// Screenshots of the board for docs/board.md and the README: a gallia run caught mid-flight
// (tickets completed, held, stalled, in review, failed, with concerns), made with the library
// (dist/index.js), served by the built `tq board`, photographed in Debian's chromium.
// Usage: npm run build && node scripts/board-screenshots.mjs   (writes docs/board/*.png)
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'docs', 'board');
const tq = await import(join(ROOT, 'dist', 'index.js'));

const NOUNS = ['Hexagone', 'Barrage', 'la Légion'];

async function claimSubmit(ctx, stage, worker, output, extra = {}) {
  const c = await tq.claimTicket(ctx, { stage, workerId: worker });
  if (!c) return undefined;
  const usage = { input_tokens: 800 + Math.floor(Math.random() * 400), output_tokens: 300 + Math.floor(Math.random() * 200), model: 'sonnet-sim', cost_usd: 0.004 };
  await tq.submitTicket(ctx, { ticketId: c.ticket.ticket_id, workerId: worker, output: output(c.ticket.input_data), usage, ...extra });
  return c.ticket.ticket_id;
}

const parseOut = (input) => ({ walk_id: input.id, beats: input.nodes.map((n) => ({ node_id: n.node_id, speaker: n.speaker, text: n.text, function: 'inform' })) });
const translateOut = (i) => (input) => ({
  walk_id: input.walk_id,
  translated_texts: input.beats.map((b) => ({ node_id: b.node_id, text: `« ${b.text} »` })),
  new_nouns: i % 4 === 0 ? [{ noun: NOUNS[(i / 4) % NOUNS.length], source: 'source', node_ids: [input.beats[0].node_id] }] : [],
});

async function makeRun(root) {
  const pipeline = JSON.parse(await readFile(join(ROOT, 'examples', 'pipeline.json'), 'utf8'));
  const ctx = await tq.createRun(root, 'gallia', { pipeline, durability: 'none' });
  const walks = (await readFile(join(ROOT, 'examples', 'gallia', 'walks.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  await tq.addTickets(ctx, 'parse', tq.itemsOf(walks));
  for (let i = 0; i < 32; i += 1) {
    const concerns = i === 5 ? [{ level: 'info', message: 'speaker of 0x17e275 guessed from context' }] : [];
    const status = i === 9 || i === 17 ? 'needs_review' : i === 13 ? 'failed' : 'completed';
    const review = status === 'needs_review' ? [{ level: 'review', message: 'two beats share node 0x14dfea', suggestion: 'split the walk at 0x14dfea and parse again' }] : concerns;
    await claimSubmit(ctx, 'parse', `agent-${1 + (i % 3)}`, parseOut, { status, concerns: review });
  }
  let review;
  for (let i = 0; i < 16; i += 1) {
    const concerns = i % 5 === 2 ? [{ level: 'review', message: 'idiom "in triplicate" kept literally at 0x1c21f3', suggestion: 'use « en trois exemplaires »' }] : i === 9 ? [{ level: 'error', message: 'node 0x19d395 left untranslated' }] : [];
    const id = await claimSubmit(ctx, 'translate', `agent-${1 + (i % 3)}`, translateOut(i), { concerns });
    if (i === 12) review = id;
  }
  await claimSubmit(ctx, 'curate', 'agent-1', () => ({ noun: 'Hexagone', verdict: 'APPROVE', rationale: 'fits the register' }));
  await tq.claimTicket(ctx, { stage: 'parse', workerId: 'agent-4' });
  await tq.claimTicket(ctx, { stage: 'translate', workerId: 'agent-5' });
  await tq.claimTicket(ctx, { stage: 'parse', workerId: 'crashed-agent', lease: '1s' });
  await new Promise((r) => setTimeout(r, 1500)); // the 1 s lease runs out: a stalled claim
  return review;
}

async function startBoard(root) {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'tq.js'), 'board', '--port', '0', '--root', root, '--allow-actions'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  for (;;) {
    const m = /board: (http:\S+?\/)\s/.exec(err);
    if (m) return { child, url: m[1] };
    if (child.exitCode !== null) throw new Error(err);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const root = await mkdtemp(join(tmpdir(), 'tq-board-shots-'));
try {
  const ticket = await makeRun(root);
  const board = await startBoard(root);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
  await page.goto(board.url);
  await page.waitForSelector('[data-run=gallia]');
  await page.screenshot({ path: join(OUT, 'overview.png') });
  await page.goto(`${board.url}run/gallia`);
  await page.waitForSelector('.column[data-stage=curate] .row');
  await page.screenshot({ path: join(OUT, 'run.png') });
  await page.goto(`${board.url}run/gallia/ticket/${ticket}`);
  await page.waitForSelector('.ticket h1');
  await page.evaluate(() => document.querySelector('details.json')?.removeAttribute('open'));
  await page.screenshot({ path: join(OUT, 'ticket.png'), fullPage: true });
  await page.goto(`${board.url}run/gallia/graph`);
  await page.waitForSelector('svg.dag');
  await page.screenshot({ path: join(OUT, 'graph.png') });
  await browser.close();
  board.child.kill('SIGINT');
  console.log(`wrote ${['overview', 'run', 'ticket', 'graph'].map((n) => `docs/board/${n}.png`).join(', ')}`);
} finally {
  await rm(root, { recursive: true, force: true });
}
