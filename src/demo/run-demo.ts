import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRun } from '../core/ops/create-run.js';
import { addTickets, itemsOf } from '../core/ops/add-tickets.js';
import { runStatus, listTickets, type RunStatus } from '../core/views/list-tickets.js';
import { collectConcerns } from '../core/views/collect-concerns.js';
import { fsckRun } from '../core/fsck/fsck-run.js';
import { readTicketAt } from '../core/store/read-ticket.js';
import { listDir } from '../core/store/atomic-write.js';
import type { RunCtx } from '../core/store/run-context.js';
import type { JsonObject } from '../core/model/ticket-schema.js';
import { makeWalks } from './corpus.js';

/**
 * The package directory: the nearest one up from this file that holds bin/tq.js. Why not a
 * fixed '../..': this code also runs from the CLI bundle (dist/bundle/chunks/).
 */
function packageDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'bin', 'tq.js')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

const PKG = packageDir();
const TQ = join(PKG, 'bin', 'tq.js');
const WORKER = join(PKG, 'dist', 'demo', 'demo-worker.js');
const AGENT = join(PKG, 'dist', 'demo', 'demo-agent.js');
const PIPELINE = join(PKG, 'examples', 'gallia', 'pipeline.json');
const STAGES = ['parse', 'translate', 'curate'];

export interface DemoOptions {
  root: string;
  walks: number;
  /** Programs each `tq work` (one per stage) runs at once. */
  workConcurrency: number;
  fileWorkers: number;
  timeoutMs: number;
  write: (text: string) => void;
  isTTY: boolean;
}

export interface DemoResult {
  run_id: string;
  path: string;
  done: boolean;
  summary: string;
  stages: Record<string, { completed: number; total: number }>;
  reaped: { ticket_id: string; from_worker: string }[];
  concerns: { error: number; review: number; info: number };
  fsck_ok: boolean;
  seconds: number;
  /** The summary lines each `tq work` printed when the demo stopped it. */
  work_summaries: string[];
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

function progressLine(s: RunStatus): string {
  return Object.entries(s.counts)
    .map(([stage, c]) => `${stage} ${c.completed}/${s.registered?.[stage] ?? 0}${c.claimed ? ` (${c.claimed} claimed)` : ''}`)
    .join(', ');
}

/**
 * Every registered ticket is in a final state and every completed parent has cascaded. Why
 * registry totals: births never move, while a status listing taken directory after directory
 * can miss a ticket that is moving, or count it twice.
 */
async function isFinished(ctx: RunCtx): Promise<boolean> {
  // RACE: markers first. A parent's marker is written after its children's births, so every
  // child of a parent counted here is in the registry the status below reads.
  const markers = (await listDir(ctx, ctx.paths.cascadeDone)).length;
  const s = await runStatus(ctx, { withRegistry: true });
  if (s.in_flight > 0) return false;
  for (const [stage, born] of Object.entries(s.registered ?? {})) {
    const c = s.counts[stage];
    if (!c || c.completed + c.failed + c.needs_review !== born) return false;
  }
  const cascading = new Set(ctx.config.pipeline.cascade.map((r) => r.from));
  let parents = 0;
  for (const stage of cascading) parents += s.counts[stage]?.completed ?? 0;
  return markers >= parents;
}

function startProcess(args: string[], label: string, log: string[]): ChildProcess {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr?.on('data', (d: Buffer) => log.push(`[${label}] ${d.toString().trimEnd()}`));
  return child;
}

/** `tq work` on one stage, running the demo agent per ticket; resolves with its summary lines once it has stopped. */
function startTqWork(root: string, runId: string, stage: string, concurrency: number, log: string[]): { child: ChildProcess; summary: Promise<string[]> } {
  const args = [TQ, 'work', runId, '--root', root, '--stage', stage, '--concurrency', String(concurrency), '--worker', `tq-work-${stage}`, '--poll', '200ms', '--grace', '2s', '--', process.execPath, AGENT];
  const child = startProcess(args, `tq work ${stage}`, log);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const summary = new Promise<string[]>((resolve) => child.on('close', () => resolve(out.split('\n').filter((l) => /^(worker \S+ on \S+: done|command time:)/.test(l)))));
  return { child, summary };
}

/** The README's main command: a whole pipeline run by a daemon and simulated agents. */
export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const started = Date.now();
  const runId = `gallia-demo-${stamp(new Date())}`;
  const pipeline = JSON.parse(await readFile(PIPELINE, 'utf8')) as unknown;
  const ctx = await createRun(opts.root, runId, { pipeline, pipelineFile: PIPELINE, durability: 'none', description: 'ticketq demo: synthetic dialogue walks, parse -> translate -> curate' });
  const walks = makeWalks(opts.walks);
  await addTickets(ctx, 'parse', itemsOf(walks as unknown as JsonObject[], 'demo corpus'));
  opts.write(`run ${runId}: ${walks.length} dialogue walks -> parse -> translate -> curate (de-duplicated proper nouns)\n`);
  const log: string[] = [];
  const daemon = startProcess([TQ, 'daemon', runId, '--root', opts.root, '--interval', '300ms'], 'daemon', log);
  const children: ChildProcess[] = [daemon];
  const summaries: Promise<string[]>[] = [];
  let done = false;
  try {
    // One agent dies holding a claim; its lease (2s) expires and the daemon's reaper recovers it.
    const dying = startProcess([WORKER, 'dies', opts.root, runId, 'doomed-agent'], 'doomed-agent', log);
    const dyingTicket = await new Promise<string>((resolve) => {
      let out = '';
      dying.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      dying.on('exit', () => resolve(out.trim()));
    });
    opts.write(`doomed-agent claimed ${dyingTicket} and died holding it (SIGKILL); the reaper will return it\n`);
    for (const stage of STAGES) {
      const w = startTqWork(opts.root, runId, stage, opts.workConcurrency, log);
      children.push(w.child);
      summaries.push(w.summary);
    }
    for (let i = 1; i <= opts.fileWorkers; i += 1) children.push(startProcess([WORKER, 'files', opts.root, runId, `file-agent-${i}`], `file-agent-${i}`, log));
    opts.write(`workers: \`tq work\` on each stage (${STAGES.join(', ')}), ${opts.workConcurrency} at a time, running \`node demo-agent.js\` per ticket; ${opts.fileWorkers} agents using only read/write/list of files\n`);

    let last = '';
    while (Date.now() - started < opts.timeoutMs) {
      const line = progressLine(await runStatus(ctx, { withRegistry: true }));
      if (opts.isTTY) opts.write(`\r\x1b[2K${line}`);
      else if (line !== last) opts.write(`${line}\n`);
      last = line;
      if (await isFinished(ctx)) {
        done = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    if (opts.isTTY) opts.write('\n');
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', r)))));
  }
  // Why after the children stopped: fsck and the summary must see the run at rest, not the
  // daemon's and agents' files in the middle of a move.
  const result = { ...(await summarize(ctx, done, started)), work_summaries: (await Promise.all(summaries)).flat() };
  if (!result.done) opts.write(`${log.slice(-20).join('\n')}\n`);
  return result;
}

async function summarize(ctx: RunCtx, done: boolean, started: number): Promise<Omit<DemoResult, 'work_summaries'>> {
  const s = await runStatus(ctx, { withRegistry: true });
  const stages: DemoResult['stages'] = {};
  for (const [stage, c] of Object.entries(s.counts)) stages[stage] = { completed: c.completed, total: s.registered?.[stage] ?? 0 };
  const reaped: DemoResult['reaped'] = [];
  for (const t of await listTickets(ctx, { stage: 'parse' })) {
    const ticket = await readTicketAt(ctx, t.path).catch(() => undefined);
    for (const h of ticket?.history ?? []) if (h.event === 'reaped') reaped.push({ ticket_id: t.ticket_id, from_worker: h.worker_id ?? '' });
  }
  const concerns = await collectConcerns(ctx);
  const fsck = await fsckRun(ctx, { settleMs: 0 });
  const summary = Object.entries(stages).map(([k, v]) => `${k} ${v.completed}/${v.total}`).join(', ');
  return {
    run_id: ctx.runId,
    path: ctx.paths.dir,
    done,
    summary,
    stages,
    reaped,
    concerns: concerns.by_level,
    fsck_ok: fsck.ok,
    seconds: Math.round((Date.now() - started) / 100) / 10,
  };
}
