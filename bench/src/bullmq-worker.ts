/**
 * Child process for figure 1: BullMQ + Redis. Requests:
 *   {cmd:'open', port, queue, concurrency, jobMs?}   jobMs: an agent-like job waits this long
 *   {cmd:'create', count}   addBulk in chunks (BullMQ's fast path)
 *   {cmd:'process', count}  a Worker with `concurrency` until `count` jobs completed
 */
import { Queue, Worker } from 'bullmq';
import { field, numField, serveRequests, type Message } from './child-rpc.js';
import { OUTPUT, PAYLOAD } from './payload.js';

const BULK = 1000;

let queue: Queue | undefined;
let worker: Worker | undefined;
let completed = 0;

serveRequests(async (msg: Message): Promise<Message> => {
  if (msg.cmd === 'open') {
    const connection = { host: '127.0.0.1', port: numField(msg, 'port'), maxRetriesPerRequest: null };
    const name = field(msg, 'queue');
    queue = new Queue(name, { connection });
    await queue.waitUntilReady();
    // Why: created now but started only in 'process', so connection set-up is not timed.
    const jobMs = typeof msg.jobMs === 'number' ? msg.jobMs : 0;
    worker = new Worker(name, async (job) => {
      if (typeof job.data !== 'object') throw new Error('bad job');
      if (jobMs > 0) await new Promise((r) => setTimeout(r, jobMs));
      return OUTPUT;
    }, { connection, concurrency: numField(msg, 'concurrency'), autorun: false });
    await worker.waitUntilReady();
    return {};
  }
  if (!queue || !worker) throw new Error('open first');
  if (msg.cmd === 'create') {
    const count = numField(msg, 'count');
    for (let done = 0; done < count; done += BULK) {
      const n = Math.min(BULK, count - done);
      await queue.addBulk(Array.from({ length: n }, () => ({ name: 'work', data: PAYLOAD })));
    }
    return { created: count };
  }
  if (msg.cmd === 'process') {
    const count = numField(msg, 'count');
    const w = worker;
    await new Promise<void>((resolve, reject) => {
      w.on('completed', () => {
        completed += 1;
        if (completed >= count) resolve();
      });
      w.on('failed', (_job, err) => reject(err));
      w.run().catch(reject);
    });
    const processed = completed;
    await w.close();
    await queue.close();
    return { processed };
  }
  throw new Error(`unknown request ${String(msg.cmd)}`);
});
