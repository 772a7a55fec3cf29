import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRun } from '../../src/core/ops/create-run.js';
import { addTickets, itemsOf } from '../../src/core/ops/add-tickets.js';
import { runStatus } from '../../src/core/views/list-tickets.js';
import { fsckRun } from '../../src/core/fsck/fsck-run.js';
import { listTickets } from '../../src/core/views/list-tickets.js';
import { readTicketAt } from '../../src/core/store/read-ticket.js';
import { listDir } from '../../src/core/store/atomic-write.js';
import type { RunCtx } from '../../src/core/store/run-context.js';
import { BIN } from '../helpers/build-dist.js';
import { waitFor } from '../helpers/wait-for.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

/** parse -> translate (1:1) -> curate (keyed by noun): the shape of the user's pipeline. */
export const TORTURE_PIPELINE = {
  stages: { parse: { lease: '2s', max_attempts: 1000 }, translate: { lease: '2s', max_attempts: 1000 }, curate: { lease: '2s', max_attempts: 1000 } },
  cascade: [
    { from: 'parse', to: 'translate' },
    { from: 'translate', to: 'curate', for_each: 'new_nouns', key: 'noun' },
  ],
};

/** Distinct curate keys the deterministic worker outputs produce for n parse tickets. */
export function expectedCurates(n: number): number {
  return new Set([...Array.from({ length: n }, (_, i) => `N${i % 40}`), ...Array.from({ length: n }, (_, i) => `M${i % 7}`)]).size;
}

export async function makeTortureRun(root: string, runId: string, tickets: number): Promise<RunCtx> {
  const ctx = await createRun(root, runId, { pipeline: TORTURE_PIPELINE, durability: 'none' });
  await addTickets(ctx, 'parse', itemsOf(Array.from({ length: tickets }, (_, n) => ({ n }))));
  return ctx;
}

export function startProcess(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess & { out: string[] } {
  const child = spawn(process.execPath, args, { env: { ...process.env, TQ_DURABILITY: 'none', ...env }, stdio: ['ignore', 'pipe', 'pipe'] }) as ChildProcess & { out: string[] };
  child.out = [];
  child.stdout?.on('data', (d: Buffer) => child.out.push(d.toString()));
  child.stderr?.on('data', (d: Buffer) => child.out.push(d.toString()));
  return child;
}

export function startWorker(root: string, runId: string, worker: string, seed: number, stopFile: string): ChildProcess & { out: string[] } {
  return startProcess([join(FIXTURES, 'torture-worker.mjs'), root, runId, worker, String(seed), stopFile]);
}

export function startDaemon(root: string, runId: string): ChildProcess & { out: string[] } {
  return startProcess([BIN, 'daemon', runId, '--root', root, '--force', '--interval', '300ms', '--json']);
}

export function startReapLoop(root: string, runId: string, stopFile: string): ChildProcess & { out: string[] } {
  return startProcess([join(FIXTURES, 'reap-loop.mjs'), root, runId, stopFile]);
}

export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

/** All work done: nothing pending, claimed or in flight, and every cascade that must exist exists. */
export async function isRunDone(ctx: RunCtx, tickets: number): Promise<boolean> {
  const s = await runStatus(ctx);
  if (s.totals.pending || s.totals.claimed || s.in_flight) return false;
  const want = { parse: tickets, translate: tickets, curate: expectedCurates(tickets) };
  for (const [stage, n] of Object.entries(want)) if ((s.counts[stage]?.completed ?? 0) !== n) return false;
  return (await listDir(ctx, ctx.paths.cascadeDone)).length === 2 * tickets;
}

/** Wait for isRunDone; `idleMs` is the deadline on an idle machine (paced by waitFor). */
export async function waitRunDone(ctx: RunCtx, tickets: number, idleMs: number): Promise<void> {
  try {
    await waitFor(() => isRunDone(ctx, tickets), idleMs, `run ${ctx.runId} to finish`);
  } catch (err) {
    // Say where it stuck: counts, moves in flight, cascade markers.
    const s = await runStatus(ctx);
    const moving = await listDir(ctx, ctx.paths.moving);
    const markers = (await listDir(ctx, ctx.paths.cascadeDone)).length;
    throw new Error(`${(err as Error).message}\n${JSON.stringify({ counts: s.counts, workers: s.workers, in_flight: s.in_flight, markers, moving: moving.slice(0, 10), quarantined: s.quarantined })}`);
  }
}

export interface Violations {
  fsck_problems: number;
  wrong_counts: number;
  multiple_submits: number;
  details: string[];
}

/**
 * The invariants every torture scenario ends with: fsck clean, each stage has exactly the
 * expected tickets (every cascade child exactly once), and every ticket was submitted once.
 */
export async function checkInvariants(ctx: RunCtx, tickets: number): Promise<Violations> {
  const v: Violations = { fsck_problems: 0, wrong_counts: 0, multiple_submits: 0, details: [] };
  const fsck = await fsckRun(ctx, { settleMs: 0 });
  v.fsck_problems = fsck.problems.length;
  for (const p of fsck.problems.slice(0, 5)) v.details.push(`fsck ${p.kind}: ${p.message}`);
  const s = await runStatus(ctx);
  const want = { parse: tickets, translate: tickets, curate: expectedCurates(tickets) };
  for (const [stage, n] of Object.entries(want)) {
    const c = s.counts[stage];
    const total = c ? c.pending + c.claimed + c.completed + c.failed + c.needs_review : 0;
    if (c?.completed !== n || total !== n) {
      v.wrong_counts += 1;
      v.details.push(`${stage}: ${c?.completed ?? 0} completed of ${total}, want ${n}`);
    }
  }
  for (const t of await listTickets(ctx, { state: 'completed' })) {
    const ticket = await readTicketAt(ctx, t.path);
    const submits = ticket.history.filter((h) => h.event === 'submitted').length;
    if (submits !== 1) {
      v.multiple_submits += 1;
      v.details.push(`${t.ticket_id}: ${submits} submitted events`);
    }
  }
  return v;
}

export async function touch(file: string): Promise<void> {
  await writeFile(file, '');
}

/** A small seeded RNG, so a failing torture run can be replayed. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
