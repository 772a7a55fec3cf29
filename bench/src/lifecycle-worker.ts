/**
 * Child process for figure 1 (ticketq, the raw floor and the protocol floor). Requests:
 *   {cmd:'open', system, root, runId, durability, worker, concurrency}
 *   {cmd:'create', count}   create this process's share of tickets
 *   {cmd:'process'}         claim + submit until nothing is pending
 */
import { open, mkdir } from 'node:fs/promises';
import { nodeFs } from '../../dist/index.js';
import { join } from 'node:path';
import { field, numField, serveRequests, type Message } from './child-rpc.js';
import { OUTPUT, PAYLOAD } from './payload.js';
import { runLimited } from './run-limited.js';
import { syncFs } from './sync-fs.js';
import { addTickets, claimTicket, itemsOf, newTicket, openRun, serializeTicket, submitTicket, type RunCtx } from './ticketq.js';

/** Creation concurrency: ticketq's addTickets runs 16 births at once; the raw floor does the same. */
const CREATE_CONCURRENCY = 16;

interface State {
  system: 'ticketq' | 'ticketq-sync' | 'raw' | 'raw-fsync' | 'protocol';
  root: string;
  runId: string;
  worker: string;
  concurrency: number;
  ctx: RunCtx;
  /** Raw floor: the names this process wrote (no discovery: the floor has no queue logic). */
  names: string[];
}

let state: State | undefined;

serveRequests(async (msg: Message): Promise<Message> => {
  if (msg.cmd === 'open') {
    const system = field(msg, 'system');
    if (system !== 'ticketq' && system !== 'ticketq-sync' && system !== 'raw' && system !== 'raw-fsync' && system !== 'protocol') throw new Error(`unknown system ${system}`);
    const durability = field(msg, 'durability') === 'full' ? 'full' : 'none';
    const root = field(msg, 'root');
    const runId = field(msg, 'runId');
    state = { system, root, runId, worker: field(msg, 'worker'), concurrency: numField(msg, 'concurrency'), ctx: await openRun(root, runId, { durability, ...(system === 'ticketq-sync' ? { fs: syncFs } : {}) }), names: [] };
    return {};
  }
  if (!state) throw new Error('open first');
  if (msg.cmd === 'create') return create(state, numField(msg, 'count'));
  if (msg.cmd === 'process') return processAll(state);
  throw new Error(`unknown request ${String(msg.cmd)}`);
});

async function create(s: State, count: number): Promise<Message> {
  if (s.system === 'ticketq' || s.system === 'ticketq-sync') {
    const items = Array.from({ length: count }, () => ({ ...PAYLOAD }));
    const r = await addTickets(s.ctx, 'work', itemsOf(items));
    return { created: r.created };
  }
  const dir = join(s.root, s.runId, 'pending', 'work');
  await mkdir(dir, { recursive: true });
  const sync = s.system === 'raw-fsync';
  // Same bytes as a ticketq pending ticket.
  const text = serializeTicket(newTicket({ runId: s.runId, stage: 'work', input: { ...PAYLOAD }, now: new Date(), pipeline: s.ctx.config.pipeline }));
  if (s.system === 'protocol') return createLikeProtocol(s, count, text);
  await runLimited(count, CREATE_CONCURRENCY, async (i) => {
    const name = `work-${s.worker}-${i}.json`;
    s.names.push(name);
    if (!sync) return nodeFs.writeFileExclusive(join(dir, name), text, false);
    const fh = await open(join(dir, name), 'wx');
    await fh.writeFile(text);
    await fh.sync();
    await fh.close();
    await syncDir(dir);
  });
  return { created: count };
}

async function processAll(s: State): Promise<Message> {
  let processed = 0;
  if (s.system === 'ticketq' || s.system === 'ticketq-sync') {
    const ctx = s.ctx;
    await runLimited(s.concurrency, s.concurrency, async (lane) => {
      const workerId = `${s.worker}-${lane}`;
      for (;;) {
        const claimed = await claimTicket(ctx, { stage: 'work', workerId });
        if (!claimed) return;
        const token = claimed.ticket.claim?.token;
        await submitTicket(ctx, { ticketId: claimed.ticket.ticket_id, workerId, output: { ...OUTPUT }, ...(token ? { token } : {}) });
        processed += 1;
      }
    });
    return { processed };
  }
  if (s.system === 'protocol') return processLikeProtocol(s);
  const run = join(s.root, s.runId);
  const sync = s.system === 'raw-fsync';
  await mkdir(join(run, 'completed', 'work'), { recursive: true });
  for (let lane = 0; lane < s.concurrency; lane += 1) await mkdir(join(run, 'claimed', `${s.worker}-${lane}`), { recursive: true });
  await runLimited(s.names.length, s.concurrency, async (i) => {
    const claimedDir = join(run, 'claimed', `${s.worker}-${i % s.concurrency}`);
    const name = s.names[i] as string;
    await nodeFs.rename(join(run, 'pending', 'work', name), join(claimedDir, name));
    if (sync) await syncDir(claimedDir);
    await nodeFs.rename(join(claimedDir, name), join(run, 'completed', 'work', name));
    if (sync) await syncDir(join(run, 'completed', 'work'));
    processed += 1;
  });
  return { processed };
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * The protocol floor: exactly the file operations ticketq's protocol makes per ticket, through
 * the same Fs, with none of its logic (no parsing, validation, JSON building, id checks):
 *   birth:  create moving/<id>~n.new.json, create .tmp/<id>.tmp, link it to registry/, unlink
 *           the temp, rename the staged file into pending/
 *   claim:  rename pending/ -> claimed/<w>/, read it, create moving/<id>~n.next.json, rename
 *           the claimed file to .prev, lstat it, rename .next into claimed/<w>/, unlink .prev
 *   submit: read, create .next, rename to .prev, lstat, rename .next into completed/, unlink .prev
 * It tells how much of ticketq's cost is the protocol's file operations and how much is code.
 */
async function createLikeProtocol(s: State, count: number, text: string): Promise<Message> {
  const run = join(s.root, s.runId);
  const dirs = { moving: join(run, 'moving'), tmp: join(run, '.tmp'), registry: join(run, 'registry', 'work'), pending: join(run, 'pending', 'work') };
  for (const d of Object.values(dirs)) await mkdir(d, { recursive: true });
  await runLimited(count, CREATE_CONCURRENCY, async (i) => {
    const name = `work-${s.worker}-${i}.json`;
    s.names.push(name);
    const staged = join(dirs.moving, `${name}~${s.worker}${i}.new.json`);
    const tmp = join(dirs.tmp, `${name}.${s.worker}${i}.tmp`);
    await nodeFs.writeFileExclusive(staged, text, false);
    await nodeFs.writeFileExclusive(tmp, text, false);
    await nodeFs.link(tmp, join(dirs.registry, name));
    await nodeFs.unlink(tmp);
    await nodeFs.rename(staged, join(dirs.pending, name));
  });
  return { created: count };
}

async function processLikeProtocol(s: State): Promise<Message> {
  const run = join(s.root, s.runId);
  const moving = join(run, 'moving');
  const completed = join(run, 'completed', 'work');
  await mkdir(completed, { recursive: true });
  for (let lane = 0; lane < s.concurrency; lane += 1) await mkdir(join(run, 'claimed', `${s.worker}-${lane}`), { recursive: true });
  let processed = 0;
  const move = async (from: string, to: string, tag: string): Promise<void> => {
    const text = await nodeFs.readFile(from);
    const next = join(moving, `${tag}.next.json`);
    const prev = join(moving, `${tag}.prev.json`);
    await nodeFs.writeFileExclusive(next, text, false);
    await nodeFs.rename(from, prev);
    await nodeFs.lstat(prev);
    await nodeFs.rename(next, to);
    await nodeFs.unlink(prev);
  };
  await runLimited(s.names.length, s.concurrency, async (i) => {
    const claimed = join(run, 'claimed', `${s.worker}-${i % s.concurrency}`, s.names[i] as string);
    await nodeFs.rename(join(run, 'pending', 'work', s.names[i] as string), claimed);
    await move(claimed, claimed, `${s.names[i]}~c`);
    await move(claimed, join(completed, s.names[i] as string), `${s.names[i]}~s`);
    processed += 1;
  });
  return { processed };
}
