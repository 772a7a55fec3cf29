/**
 * Child process for figure 1: plainjob + better-sqlite3 (WAL, synchronous=NORMAL: plainjob's
 * own settings). Requests:
 *   {cmd:'open', file}
 *   {cmd:'create', count}   addMany (one transaction: plainjob's fast path)
 *   {cmd:'process', count}  one worker until `count` jobs are done
 */
import Database from 'better-sqlite3';
import { better, defineQueue, defineWorker } from 'plainjob';
import { field, numField, serveRequests, type Message } from './child-rpc.js';
import { PAYLOAD } from './payload.js';

const silent = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };

let queue: ReturnType<typeof defineQueue> | undefined;

serveRequests(async (msg: Message): Promise<Message> => {
  if (msg.cmd === 'open') {
    queue = defineQueue({ connection: better(new Database(field(msg, 'file'))), logger: silent });
    return {};
  }
  if (!queue) throw new Error('open first');
  if (msg.cmd === 'create') {
    const count = numField(msg, 'count');
    queue.addMany('work', Array.from({ length: count }, () => PAYLOAD));
    return { created: count };
  }
  if (msg.cmd === 'process') {
    const count = numField(msg, 'count');
    let done = 0;
    let stop: () => Promise<void> = async () => undefined;
    const worker = defineWorker(
      'work',
      (job) => {
        if (typeof JSON.parse(job.data) !== 'object') throw new Error('bad job');
      },
      {
        queue,
        logger: silent,
        onCompleted: () => {
          done += 1;
          if (done >= count) void stop();
        },
      },
    );
    stop = () => worker.stop();
    await worker.start();
    queue.close();
    return { processed: done };
  }
  throw new Error(`unknown request ${String(msg.cmd)}`);
});
