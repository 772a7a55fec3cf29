/**
 * Child process for figures 1 and 7 (ticketq and the floors). Requests:
 *   {cmd:'open', system, root, runId, durability, worker, concurrency, jobMs?}
 *   {cmd:'create', count}   create this process's share of tickets
 *   {cmd:'process'}         claim + submit until nothing is pending (each job waits jobMs first)
 *   {cmd:'cpu'}             this process's CPU time so far (answered by child-rpc)
 */
import { join } from 'node:path';
import { field, numField, serveRequests, type Message } from './child-rpc.js';
import { createFloor, processFloor, type FloorKind, type FloorState } from './floor-systems.js';
import { OUTPUT, PAYLOAD, payloadItems } from './payload.js';
import { runLimited } from './run-limited.js';
import { syncFs } from './sync-fs.js';
import { addTickets, claimTicket, itemsOf, newTicket, openRun, serializeTicket, submitTicket, type RunCtx } from './ticketq.js';

type SystemKind = 'ticketq' | 'ticketq-sync' | FloorKind;
const KINDS: readonly string[] = ['ticketq', 'ticketq-sync', 'raw', 'honest', 'honest-fsync', 'protocol', 'lease'];

interface State {
  system: SystemKind;
  runId: string;
  worker: string;
  concurrency: number;
  /** An agent-like job: wait this long between claim and submit (0: none). */
  jobMs: number;
  ctx: RunCtx;
  floor: FloorState;
}

let state: State | undefined;

const isKind = (v: string): v is SystemKind => KINDS.includes(v);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

serveRequests(async (msg: Message): Promise<Message> => {
  if (msg.cmd === 'open') {
    const system = field(msg, 'system');
    if (!isKind(system)) throw new Error(`unknown system ${system}`);
    const durability = field(msg, 'durability') === 'full' ? 'full' : 'none';
    const root = field(msg, 'root');
    const runId = field(msg, 'runId');
    const worker = field(msg, 'worker');
    const concurrency = numField(msg, 'concurrency');
    const ctx = await openRun(root, runId, { durability, ...(system === 'ticketq-sync' ? { fs: syncFs } : {}) });
    const floor: FloorState = { kind: system === 'ticketq' || system === 'ticketq-sync' ? 'raw' : system, run: join(root, runId), worker, concurrency, names: [] };
    state = { system, runId, worker, concurrency, jobMs: typeof msg.jobMs === 'number' ? msg.jobMs : 0, ctx, floor };
    return {};
  }
  if (!state) throw new Error('open first');
  if (msg.cmd === 'create') return create(state, numField(msg, 'count'));
  if (msg.cmd === 'process') return processAll(state);
  throw new Error(`unknown request ${String(msg.cmd)}`);
});

/** The bytes of a pending ticket, and of one with the output added (what the floors write). */
function ticketTexts(s: State): { text: string; outText: string } {
  const ticket = newTicket({ runId: s.runId, stage: 'work', input: { ...PAYLOAD }, now: new Date(), pipeline: s.ctx.config.pipeline });
  return { text: serializeTicket(ticket), outText: serializeTicket({ ...ticket, output_data: { ...OUTPUT } }) };
}

async function create(s: State, count: number): Promise<Message> {
  if (s.system === 'ticketq' || s.system === 'ticketq-sync') {
    // Each item has its own id (ticketq adds an item already in the run only once).
    const r = await addTickets(s.ctx, 'work', itemsOf(payloadItems(count, `${s.worker}-`)));
    return { created: r.created };
  }
  await createFloor(s.floor, count, ticketTexts(s).text);
  return { created: count };
}

async function processAll(s: State): Promise<Message> {
  if (s.system !== 'ticketq' && s.system !== 'ticketq-sync') return { processed: await processFloor(s.floor, ticketTexts(s).outText) };
  let processed = 0;
  const ctx = s.ctx;
  await runLimited(s.concurrency, s.concurrency, async (lane) => {
    const workerId = `${s.worker}-${lane}`;
    for (;;) {
      const claimed = await claimTicket(ctx, { stage: 'work', workerId });
      if (!claimed) return;
      if (s.jobMs > 0) await sleep(s.jobMs);
      const token = claimed.ticket.claim?.token;
      await submitTicket(ctx, { ticketId: claimed.ticket.ticket_id, workerId, output: { ...OUTPUT }, ...(token ? { token } : {}) });
      processed += 1;
    }
  });
  return { processed };
}
