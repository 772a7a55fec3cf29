/**
 * Child process: the bare-watcher baselines of figures 5 and 6. Requests:
 *   {cmd:'echo', from, to}   watch `from`; when a file is added, write a file of the same name in `to`
 *   {cmd:'echo-fswatch', from, to}  the same with plain fs.watch (inotify), no chokidar
 *   {cmd:'watch-run', dir}   watch a run's directories the way the daemon does, and do nothing else
 */
import { watch, type FSWatcher } from 'chokidar';
import { existsSync, watch as fsWatch } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { field, serveRequests, type Message } from './child-rpc.js';

let watcher: FSWatcher | undefined;
let events = 0;

function ready(w: FSWatcher): Promise<void> {
  return new Promise((resolve) => w.once('ready', () => resolve()));
}

serveRequests(async (msg: Message): Promise<Message> => {
  if (msg.cmd === 'echo') {
    const to = field(msg, 'to');
    watcher = watch(field(msg, 'from'), { ignoreInitial: true });
    watcher.on('add', (path) => {
      void writeFile(join(to, basename(path)), '{}\n');
    });
    await ready(watcher);
    return {};
  }
  if (msg.cmd === 'echo-fswatch') {
    const from = field(msg, 'from');
    const to = field(msg, 'to');
    fsWatch(from, (_event, name) => {
      if (typeof name === 'string' && existsSync(join(from, name))) void writeFile(join(to, name), '{}\n');
    });
    return {};
  }
  if (msg.cmd === 'watch-run') {
    const dir = field(msg, 'dir');
    // Same shape as the daemon's watcher: directories only, the run, requests/, claimed/<w>/, completed/<stage>/.
    watcher = watch(dir, {
      ignoreInitial: true,
      atomic: false,
      depth: 2,
      ignored: (path, stats) => {
        if (stats && !stats.isDirectory()) return true;
        const parts = relative(dir, path).split(sep).filter(Boolean);
        if (parts.length === 0) return false;
        if (parts.some((p) => p.startsWith('.'))) return true;
        const area = parts[0];
        if (parts.length === 1) return !(area === 'requests' || area === 'claimed' || area === 'completed');
        return !(parts.length === 2 && (area === 'claimed' || area === 'completed'));
      },
    });
    watcher.on('raw', () => {
      events += 1;
    });
    await ready(watcher);
    return {};
  }
  if (msg.cmd === 'events') return { events };
  throw new Error(`unknown request ${String(msg.cmd)}`);
});
