/**
 * Child process for figure 1: plainjob + better-sqlite3 (WAL; plainjob sets synchronous=NORMAL,
 * the bench then sets the durability under test). Requests:
 *   {cmd:'open', file, synchronous: 'OFF' | 'NORMAL' | 'FULL'}
 *   {cmd:'create', count}   addMany (one transaction: plainjob's fast path)
 *   {cmd:'process', count}  one worker until `count` jobs are done
 */
import Database from 'better-sqlite3';
import { better, defineQueue, defineWorker } from 'plainjob';
import { field, numField, serveRequests, type Message } from './child-rpc.js';
import { PAYLOAD } from './payload.js';

const silent = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };
const SYNC_MODES = ['OFF', 'NORMAL', 'FULL'];

let queue: ReturnType<typeof defineQueue> | undefined;

serveRequests(async (msg: Message): Promise<Message> => {
  if (msg.cmd === 'open') {
    const db = new Database(field(msg, 'file'));
    queue = defineQueue({ connection: better(db), logger: silent });
    const sync = field(msg, 'synchronous');
    if (!SYNC_MODES.includes(sync)) throw new Error(`unknown synchronous mode ${sync}`);
    // Why after defineQueue: plainjob's better() sets its own synchronous=NORMAL on the connection.
    db.pragma(`synchronous = ${sync}`);
    const now = db.pragma('synchronous', { simple: true });
    if (now !== SYNC_MODES.indexOf(sync)) throw new Error(`synchronous is ${String(now)}, wanted ${sync}`);
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
