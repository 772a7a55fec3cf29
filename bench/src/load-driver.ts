/**
 * Child process for figure 6: steady load on a run served by the daemon. Requests:
 *   {cmd:'open', root, runId}
 *   {cmd:'load', rate, seconds}  claim tickets (library API) and publish their result files at
 *                                `rate` per second for `seconds`, as file-only workers would
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { field, numField, serveRequests, type Message } from './child-rpc.js';
import { OUTPUT } from './payload.js';
import { claimTicket, openRun, type RunCtx } from './ticketq.js';

const WORKERS = 4;
const TICK_MS = 100;

let ctx: RunCtx | undefined;

serveRequests(async (msg: Message): Promise<Message> => {
  if (msg.cmd === 'open') {
    ctx = await openRun(field(msg, 'root'), field(msg, 'runId'));
    return {};
  }
  if (!ctx || msg.cmd !== 'load') throw new Error('open first, then load');
  const c = ctx;
  const perTick = (numField(msg, 'rate') * TICK_MS) / 1000;
  const ticks = Math.round((numField(msg, 'seconds') * 1000) / TICK_MS);
  const tmp = join(c.paths.dir, '.tmp');
  await mkdir(tmp, { recursive: true });
  const result = `${JSON.stringify({ output_data: OUTPUT })}\n`;
  let written = 0;
  let owed = 0;
  const start = performance.now();
  for (let tick = 0; tick < ticks; tick += 1) {
    owed += perTick;
    for (; owed >= 1; owed -= 1) {
      const worker = `load-${written % WORKERS}`;
      const claimed = await claimTicket(c, { stage: 'work', workerId: worker });
      if (!claimed) throw new Error('ran out of pending tickets');
      const t = join(tmp, `load-${written}.tmp`);
      await writeFile(t, result);
      await rename(t, join(c.paths.dir, 'claimed', worker, `${claimed.ticket.ticket_id}.result.json`));
      written += 1;
    }
    // Why: a steady rate, not a burst: wait for the next tick's start.
    const next = start + (tick + 1) * TICK_MS;
    const wait = next - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  return { written, ms: performance.now() - start };
});
