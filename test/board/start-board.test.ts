import { request } from 'node:http';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBoard, type Board } from '../../src/board/start-board.js';
import { claimTicket } from '../../src/core/ops/claim-ticket.js';
import { submitTicket } from '../../src/core/ops/submit-ticket.js';
import { addItems, makeRun, parseItems } from '../helpers/make-run.js';
import { fixedClock } from '../../src/core/model/clock.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';
import type { RunCtx } from '../../src/core/store/run-context.js';

const PIPELINE = { stages: { parse: {}, translate: {} }, cascade: [{ from: 'parse', to: 'translate' }] };

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw request: the path is sent as written (no URL normalising of `..`). */
function send(board: Board, path: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port: board.port, path, method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    r.on('error', reject);
    r.end();
  });
}

async function submitOne(ctx: RunCtx, worker: string, status: 'completed' | 'needs_review', concerns: unknown[] = []): Promise<string> {
  const c = await claimTicket(ctx, { stage: 'parse', workerId: worker });
  if (!c) throw new Error('nothing to claim');
  await submitTicket(ctx, { ticketId: c.ticket.ticket_id, workerId: worker, output: { ok: true }, status, concerns });
  return c.ticket.ticket_id;
}

let dir = '';
let ctx: RunCtx;
let board: Board;
let guarded: Board;
let reviewed = '';

beforeAll(async () => {
  dir = await makeTempDir('tq-board-');
  const assets = join(dir, 'assets');
  await mkdir(assets);
  await writeFile(join(assets, 'index.html'), '<!doctype html><p>board</p>');
  await writeFile(join(assets, 'board.js'), '/* page */');
  await writeFile(join(assets, 'board.css'), '');
  ctx = (await makeRun(join(dir, 'runs'), 'gallia', PIPELINE)).ctx;
  await addItems(ctx, 'parse', parseItems(5));
  reviewed = await submitOne(ctx, 'w1', 'needs_review', [{ level: 'review', message: 'check 0x14dfea', suggestion: 'look again' }]);
  await submitOne(ctx, 'w2', 'completed');
  board = await startBoard({ root: join(dir, 'runs'), port: 0, host: '127.0.0.1', allowActions: true, assetsDir: assets, rescanMs: 200 });
  guarded = await startBoard({ root: join(dir, 'runs'), port: 0, host: '127.0.0.1', token: 'sekrit', allowActions: false, assetsDir: assets });
});
afterAll(async () => {
  await board?.close();
  await guarded?.close();
  await removeDir(dir);
});

describe('startBoard (no browser)', () => {
  it('serves the page with a CSP that allows no inline script', async () => {
    const r = await send(board, '/run/gallia/ticket/parse-x');
    expect(r.status).toBe(200);
    expect(r.body).toContain('<p>board</p>');
    expect(r.headers['content-security-policy']).toContain("script-src 'self'");
    expect(r.headers['content-security-policy']).not.toContain('unsafe-inline');
    expect(r.headers['x-content-type-options']).toBe('nosniff');
  });

  it('answers the overview and a run from the same views as tq top', async () => {
    const runs = JSON.parse((await send(board, '/api/runs')).body) as { runs: { run_id: string; snapshot: { stages: { stage: string; total: number; completed: number; needs_review: number }[] } }[] };
    expect(runs.runs.map((r) => r.run_id)).toEqual(['gallia']);
    expect(runs.runs[0]?.snapshot.stages[0]).toMatchObject({ stage: 'parse', total: 5, completed: 1, needs_review: 1 });
    const run = JSON.parse((await send(board, '/api/runs/gallia')).body) as { stages: string[] };
    expect(run.stages).toEqual(['parse', 'translate']);
  });

  it('pages and filters tickets', async () => {
    const all = JSON.parse((await send(board, '/api/runs/gallia/tickets?stage=parse&limit=2&offset=1')).body) as { total: number; items: unknown[] };
    expect(all.total).toBe(5);
    expect(all.items).toHaveLength(2);
    const review = JSON.parse((await send(board, '/api/runs/gallia/tickets?concern=review')).body) as { total: number; items: { ticket_id: string }[] };
    expect(review.items.map((i) => i.ticket_id)).toEqual([reviewed]);
    const byWorker = JSON.parse((await send(board, '/api/runs/gallia/tickets?worker=w2')).body) as { total: number; items: { state: string }[] };
    expect(byWorker.items.map((i) => i.state)).toEqual(['completed']);
    const search = JSON.parse((await send(board, `/api/runs/gallia/tickets?q=${reviewed.slice(-5)}`)).body) as { total: number };
    expect(search.total).toBe(1);
    expect((await send(board, '/api/runs/gallia/tickets?state=nope')).status).toBe(400);
    expect((await send(board, '/api/runs/gallia/tickets?limit=100000')).status).toBe(400);
  });

  it('shows a ticket with lineage, and 404s an unknown one or run', async () => {
    const t = JSON.parse((await send(board, `/api/runs/gallia/tickets/${reviewed}`)).body) as { state: string; ticket: { worker_concerns: { suggestion: string }[] }; lineage: { chains: string[][] } };
    expect(t.state).toBe('needs_review');
    expect(t.ticket.worker_concerns[0]?.suggestion).toBe('look again');
    expect(t.lineage.chains).toEqual([[reviewed]]);
    expect((await send(board, '/api/runs/gallia/tickets/parse-nope')).status).toBe(404);
    expect((await send(board, '/api/runs/nope')).status).toBe(404);
  });

  it('refuses paths out of the root: never file content', async () => {
    for (const path of ['/ticket/../../etc/passwd', '/api/runs/x/tickets/..%2F..%2Fetc%2Fpasswd', '/assets/../../../../etc/passwd', '/api/runs/..%2F..%2F..%2Fetc']) {
      const r = await send(board, path);
      expect([400, 404]).toContain(r.status);
      expect(r.body).not.toContain('root:');
    }
  });

  it('needs the token on every request when one is set', async () => {
    expect((await send(guarded, '/api/runs')).status).toBe(401);
    expect((await send(guarded, '/')).status).toBe(401);
    expect((await send(guarded, '/api/runs', { headers: { authorization: 'Bearer sekrit' } })).status).toBe(200);
    const viaQuery = await send(guarded, '/?token=sekrit');
    expect(viaQuery.status).toBe(200);
    const cookie = String(viaQuery.headers['set-cookie']).split(';')[0] as string;
    expect((await send(guarded, '/api/runs', { headers: { cookie } })).status).toBe(200);
  });

  it('refuses a Host header that is not loopback when there is no token (DNS rebinding)', async () => {
    expect((await send(board, '/api/runs', { headers: { host: 'evil.example:7337' } })).status).toBe(403);
  });

  it('actions: POST with the board header only, and only with --allow-actions', async () => {
    const path = `/api/runs/gallia/tickets/${reviewed}/approve`;
    expect((await send(board, path)).status).toBe(405);
    expect((await send(board, path, { method: 'POST' })).status).toBe(403);
    expect((await send(guarded, path, { method: 'POST', headers: { authorization: 'Bearer sekrit', 'x-tq-board': '1' } })).status).toBe(403);
    const r = await send(board, path, { method: 'POST', headers: { 'x-tq-board': '1' } });
    expect(r.status).toBe(200);
    expect(existsSync(join(ctx.paths.dir, 'completed', 'parse', `${reviewed}.json`))).toBe(true);
    expect((await send(board, path, { method: 'POST', headers: { 'x-tq-board': '1' } })).status).toBe(409);
  });

  it('release refuses a claim whose lease has not expired', async () => {
    const c = await claimTicket(ctx, { stage: 'parse', workerId: 'w3' });
    const r = await send(board, `/api/runs/gallia/tickets/${c?.ticket.ticket_id}/release`, { method: 'POST', headers: { 'x-tq-board': '1' } });
    expect(r.status).toBe(409);
    expect(r.body).toContain('has not expired');
  });

  it('release returns a stalled claim (lease run out) to pending, as tq reap does', async () => {
    const old = (await makeRun(join(dir, 'runs'), 'old', PIPELINE, fixedClock('2020-01-01T00:00:00.000Z'))).ctx;
    await addItems(old, 'parse', parseItems(1));
    const c = await claimTicket(old, { stage: 'parse', workerId: 'gone', lease: '1m' });
    const r = await send(board, `/api/runs/old/tickets/${c?.ticket.ticket_id}/release`, { method: 'POST', headers: { 'x-tq-board': '1' } });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ result: { action: 'requeued' } });
    expect(existsSync(join(old.paths.dir, 'pending', 'parse', `${c?.ticket.ticket_id}.json`))).toBe(true);
  });

  it('streams a change event naming the run when a ticket moves', async () => {
    const events: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const r = request({ host: '127.0.0.1', port: board.port, path: '/api/events' }, (res) => {
        expect(res.headers['content-type']).toBe('text/event-stream');
        res.on('data', (d: Buffer) => {
          events.push(d.toString());
          if (events.join('').includes(': connected')) resolve();
        });
      });
      r.on('error', reject);
      r.end();
    });
    await done;
    const before = events.join('').length;
    await submitOne(ctx, 'w4', 'completed');
    // Why any event naming gallia: changes close together go out as one event naming every run.
    const named = (): boolean =>
      [...events.join('').slice(before).matchAll(/event: change\ndata: (.*)\n/g)].some((m) => (JSON.parse(m[1] as string) as { runs: string[] }).runs.includes('gallia'));
    await waitFor(named, 5000, 'a change event for gallia');
  });
});
