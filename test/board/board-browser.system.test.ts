import { request } from 'node:http';
import { existsSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimTicket } from '../../src/core/ops/claim-ticket.js';
import { submitTicket } from '../../src/core/ops/submit-ticket.js';
import type { RunCtx } from '../../src/core/store/run-context.js';
import { startBoardProcess, type BoardProcess } from '../helpers/board-process.js';
import { ensureDistBuilt } from '../helpers/build-dist.js';
import { chromiumMissing, launchChromium } from '../helpers/chromium.js';
import { addItems, makeRun, parseItems } from '../helpers/make-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

/** The board in a real browser (Debian's chromium through playwright-core), against `tq board` as a process. */

const PIPELINE = { stages: { parse: {}, translate: {} }, cascade: [{ from: 'parse', to: 'translate' }] };
const XSS_OUTPUT = { text: '<script>window.__pwned=1</script>', html: '<img src=x onerror="window.__pwned=2">' };
const XSS_CONCERN = { level: 'error', message: '<img src=x onerror="window.__pwned=3">', suggestion: '<script>window.__pwned=4</script>' };

async function submitParse(ctx: RunCtx, status: 'completed' | 'needs_review', output: unknown, concerns: unknown[] = []): Promise<string> {
  const c = await claimTicket(ctx, { stage: 'parse', workerId: 'w1' });
  if (!c) throw new Error('no parse ticket left');
  await submitTicket(ctx, { ticketId: c.ticket.ticket_id, workerId: 'w1', output, status, concerns });
  return c.ticket.ticket_id;
}

function get(url: string, rawPath: string): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const r = request({ host: u.hostname, port: u.port, path: rawPath }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    r.on('error', reject);
    r.end();
  });
}

/** An address of this machine that is not loopback, if it has one. */
function outsideAddress(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;
}

const missing = chromiumMissing();
if (missing !== undefined) console.log(`board browser tests skipped: ${missing}`);

describe.skipIf(missing !== undefined)('tq board in chromium', () => {
  let dir = '';
  let ctx: RunCtx;
  let board: BoardProcess;
  let browser: Browser;
  let page: Page;
  const ids = { review: '', parent: '', child: '' };

  beforeAll(async () => {
    await ensureDistBuilt();
    dir = await makeTempDir('tq-board-browser-');
    ctx = (await makeRun(join(dir, 'runs'), 'gallia', PIPELINE)).ctx;
    await addItems(ctx, 'parse', parseItems(6));
    ids.review = await submitParse(ctx, 'needs_review', { ok: 1 }, [{ level: 'review', message: 'is this right?', suggestion: 'compare with the source' }]);
    ids.parent = await submitParse(ctx, 'completed', { walk: 'walk-001' });
    const child = await claimTicket(ctx, { stage: 'translate', workerId: 'w2' });
    if (!child) throw new Error('no translate child');
    ids.child = child.ticket.ticket_id;
    await submitTicket(ctx, { ticketId: ids.child, workerId: 'w2', output: XSS_OUTPUT, concerns: [XSS_CONCERN], usage: { input_tokens: 12, output_tokens: 34 } });
    board = await startBoardProcess(join(dir, 'runs'), ['--allow-actions']);
    browser = await launchChromium();
    page = await browser.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    expect(await board?.stop()).toBe(0);
    await removeDir(dir);
  });

  it('the overview updates live when a ticket moves, without a reload', async () => {
    await page.goto(board.url);
    const cell = '[data-run=gallia] tr[data-stage=parse] td[data-state=completed]';
    await page.waitForSelector(cell);
    expect(await page.textContent(cell)).toBe('1');
    await page.evaluate("window.__marker = 'still here'");
    await submitParse(ctx, 'completed', { walk: 'walk-002' });
    await page.waitForSelector(`${cell}:text-is("2")`, { timeout: 15_000 });
    expect(await page.evaluate('window.__marker')).toBe('still here');
  });

  it('falls back to polling every 2 s when the event stream fails', async () => {
    const p = await browser.newPage();
    await p.route('**/api/events', (route) => void route.abort());
    await p.goto(board.url);
    const cell = '[data-run=gallia] tr[data-stage=parse] td[data-state=completed]';
    await p.waitForSelector(cell);
    await p.waitForSelector('#live:text-is("polling every 2 s")');
    const before = Number(await p.textContent(cell));
    await submitParse(ctx, 'completed', { walk: 'walk-003' });
    await p.waitForSelector(`${cell}:text-is("${before + 1}")`, { timeout: 15_000 });
    await p.close();
  });

  it('a ticket page shows input, output, concerns with suggestions, usage and lineage with links', async () => {
    await page.goto(`${board.url}run/gallia/ticket/${ids.child}`);
    await page.waitForSelector('.ticket h1');
    const text = (await page.textContent('.ticket')) ?? '';
    expect(text).toContain('"walk": "walk-001"'); // input: the parent's output
    expect(text).toContain(XSS_OUTPUT.text); // output, as text
    expect(text).toContain(XSS_CONCERN.message);
    expect(text).toContain(`suggestion: ${XSS_CONCERN.suggestion}`);
    expect(text).toContain('"output_tokens": 34');
    const parentLink = page.locator(`.ticket a[href="/run/gallia/ticket/${ids.parent}"]`).first();
    await parentLink.click();
    await page.waitForSelector(`.ticket h1:has-text("${ids.parent}")`);
    expect(await page.textContent('.ticket')).toContain(ids.child); // the parent lists its child
  });

  it('script in a ticket (output, concerns) never runs: text only, CSP without inline script', async () => {
    await page.goto(`${board.url}run/gallia/ticket/${ids.child}`);
    await page.waitForSelector('.ticket pre');
    // Why a string: the test is compiled without the DOM's types; this runs in the page.
    const seen = await page.evaluate(`({
      pwned: window.__pwned,
      images: document.querySelectorAll('img').length,
      scripts: [...document.querySelectorAll('script')].map((s) => s.getAttribute('src')),
    })`);
    expect(seen).toEqual({ pwned: undefined, images: 0, scripts: ['/assets/board.js'] });
  });

  it('approve from the page (after the confirmation) moves the file to completed/', async () => {
    await page.goto(`${board.url}run/gallia/ticket/${ids.review}`);
    page.once('dialog', (d) => void d.accept());
    await page.click('button[data-action=approve]');
    await waitFor(() => existsSync(join(ctx.paths.dir, 'completed', 'parse', `${ids.review}.json`)), 10_000, 'the approved ticket in completed/');
    expect(existsSync(join(ctx.paths.dir, 'needs_review', 'parse', `${ids.review}.json`))).toBe(false);
    await page.waitForSelector('.ticket h1 .badge.st-completed');
  });

  it('the run page lists tickets per stage and filters them', async () => {
    await page.goto(`${board.url}run/gallia`);
    await page.waitForSelector('.column[data-stage=parse] .row');
    expect(await page.textContent('.column[data-stage=parse] .count')).toBe('6');
    await page.selectOption('select[name=concern]', 'error');
    await page.waitForSelector('.column[data-stage=parse] .count:text-is("0")');
    expect(await page.textContent('.column[data-stage=translate] .count')).toBe('1');
  });

  it('refuses paths out of the root: never a file', async () => {
    for (const path of ['/ticket/../../etc/passwd', '/api/runs/x/tickets/..%2F..%2Fetc%2Fpasswd', '/assets/../../../etc/passwd']) {
      const r = await get(board.url, path);
      expect([400, 404]).toContain(r.status);
      expect(r.body).not.toContain('root:');
    }
  });

  it('a non-local bind answers 401 without the token it printed, and works with it', async () => {
    const open = await startBoardProcess(join(dir, 'runs'), ['--host', '0.0.0.0']);
    try {
      expect(open.token).toMatch(/^[A-Za-z0-9_-]{20,}$/);
      const base = `http://${outsideAddress() ?? '127.0.0.1'}:${open.port}/`;
      expect((await get(base, '/api/runs')).status).toBe(401);
      expect((await get(base, '/')).status).toBe(401);
      const p = await browser.newPage();
      await p.goto(`${base}?token=${open.token}`);
      await p.waitForSelector('[data-run=gallia]');
      await p.close();
    } finally {
      expect(await open.stop()).toBe(0);
    }
  });
});
