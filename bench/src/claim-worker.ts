/**
 * Child process for figure 4. Requests:
 *   {cmd:'open', root, runId, worker}
 *   {cmd:'claim', count}  claim `count` tickets one after another; returns each latency (ms)
 *   {cmd:'raw-claim', count}  the floor: first 64 names of pending/, shuffled, rename into
 *                             claimed/<worker>/; no stamp, no validation
 */
import { mkdir, opendir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { field, numField, serveRequests, type Message } from './child-rpc.js';
import { claimTicket, openRun, type RunCtx } from './ticketq.js';

let ctx: RunCtx | undefined;
let worker = '';

serveRequests(async (msg: Message): Promise<Message> => {
  if (msg.cmd === 'open') {
    ctx = await openRun(field(msg, 'root'), field(msg, 'runId'), { durability: 'none' });
    worker = field(msg, 'worker');
    return {};
  }
  if (!ctx) throw new Error('open first');
  if (msg.cmd === 'raw-claim') {
    const from = join(ctx.paths.dir, 'pending', 'work');
    const to = join(ctx.paths.dir, 'claimed', `raw-${worker}`);
    await mkdir(to, { recursive: true });
    const count = numField(msg, 'count');
    const start = performance.now();
    for (let i = 0; i < count; i += 1) {
      if (!(await rawClaim(from, to))) throw new Error('nothing left to claim');
    }
    return { elapsed: performance.now() - start };
  }
  if (msg.cmd === 'claim') {
    const count = numField(msg, 'count');
    const latencies: number[] = [];
    const start = performance.now();
    for (let i = 0; i < count; i += 1) {
      const t = performance.now();
      const r = await claimTicket(ctx, { stage: 'work', workerId: worker });
      latencies.push(performance.now() - t);
      if (!r) throw new Error('nothing left to claim');
    }
    return { latencies, elapsed: performance.now() - start };
  }
  throw new Error(`unknown request ${String(msg.cmd)}`);
});

async function rawClaim(from: string, to: string): Promise<boolean> {
  for (;;) {
    const names: string[] = [];
    const dir = await opendir(from, { bufferSize: 64 });
    for (let e = await dir.read(); e !== null && names.length < 64; e = await dir.read()) names.push(e.name);
    await dir.close();
    if (names.length === 0) return false;
    for (let i = names.length - 1; i > 0; i -= 1) {
      const j = Math.floor(Math.random() * (i + 1));
      [names[i], names[j]] = [names[j] as string, names[i] as string];
    }
    for (const n of names) {
      try {
        await rename(join(from, n), join(to, n));
        return true;
      } catch {
        // lost the race: next candidate
      }
    }
  }
}
