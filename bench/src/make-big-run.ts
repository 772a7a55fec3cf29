import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PAYLOAD, OUTPUT } from './payload.js';
import { claimedVersion, createRun, newTicket, serializeTicket, type RunCtx } from './ticketq.js';

export interface BigRunSpec {
  root: string;
  runId: string;
  tickets: number;
  /** Fractions of tickets per state (the rest are pending). */
  completed: number;
  claimed: number;
  workers: number;
  /** Write registry/ birth records (default true). */
  registry?: boolean;
}

/** Fixed-width ids so that one template serves every ticket (string replace, no re-serialising). */
function idOf(i: number): string {
  return `work-${i.toString(36).padStart(10, '0')}-bench`;
}
const PLACEHOLDER = idOf(0).replace(/0/g, 'Z');

/**
 * Write a run of valid tickets quickly with bare fs calls: the same files ticketq itself would
 * write (registry birth certificate, a copy, + the state file), without going through the queue.
 */
export async function makeBigRun(spec: BigRunSpec, log: (l: string) => void): Promise<RunCtx> {
  const ctx = await createRun(spec.root, spec.runId, { pipeline: { stages: { work: {} }, cascade: [] }, durability: 'none' });
  const now = new Date();
  const born = newTicket({ runId: spec.runId, stage: 'work', input: { ...PAYLOAD }, now, pipeline: ctx.config.pipeline, ticketId: PLACEHOLDER });
  const bornText = serializeTicket(born);
  const claimedT = claimedVersion(born, 'WORKER', now, 3_600_000);
  const claimedText = serializeTicket(claimedT);
  const doneText = serializeTicket({
    ...claimedT,
    status: 'completed',
    output_data: { ...OUTPUT },
    completed_at: now.toISOString(),
    history: [...claimedT.history, { at: now.toISOString(), event: 'submitted', from: 'claimed', to: 'completed', worker_id: 'WORKER' }],
  });
  const dir = ctx.paths.dir;
  const reg = join(dir, 'registry', 'work');
  const pending = join(dir, 'pending', 'work');
  const completed = join(dir, 'completed', 'work');
  for (const d of [reg, pending, completed]) mkdirSync(d, { recursive: true });
  const workerDirs = Array.from({ length: spec.workers }, (_, w) => join(dir, 'claimed', `agent-${w}`));
  for (const d of workerDirs) mkdirSync(d, { recursive: true });
  const nDone = Math.round(spec.tickets * spec.completed);
  const nClaimed = Math.round(spec.tickets * spec.claimed);
  const t0 = performance.now();
  for (let i = 0; i < spec.tickets; i += 1) {
    const id = idOf(i + 1);
    const name = `${id}.json`;
    const text = bornText.replaceAll(PLACEHOLDER, id);
    if (spec.registry !== false) writeFileSync(join(reg, name), text);
    if (i < nDone) {
      writeFileSync(join(completed, name), doneText.replaceAll(PLACEHOLDER, id).replaceAll('WORKER', `agent-${i % spec.workers}`));
    } else if (i < nDone + nClaimed) {
      const w = i % spec.workers;
      writeFileSync(join(workerDirs[w] as string, name), claimedText.replaceAll(PLACEHOLDER, id).replaceAll('WORKER', `agent-${w}`));
    } else {
      writeFileSync(join(pending, name), text);
    }
    if ((i + 1) % 250_000 === 0) log(`    wrote ${(i + 1).toLocaleString('en-US')} tickets (${Math.round((performance.now() - t0) / 1000)} s)`);
  }
  return ctx;
}
