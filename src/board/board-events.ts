import type { ServerResponse } from 'node:http';
import { join, relative, sep } from 'node:path';
import { DirEntryWatchers } from '../daemon/watch-dir-entries.js';
import { nodeFs } from '../core/store/fs-layer.js';
import { claimedDir, stateDir, type RunCtx } from '../core/store/run-context.js';
import { listDirForView } from '../core/views/list-dir-for-view.js';
import type { BoardRuns } from './board-runs.js';

/** Changes closer together than this go out as one event (a burst of submits is one redraw). */
const DEBOUNCE_MS = 150;
/** A comment line now and then keeps proxies from closing an idle stream. */
const KEEPALIVE_MS = 15_000;

/** The directories whose content is a run's state: pending/, claimed/<worker>/ and the finished ones. */
async function stateDirsOf(ctx: RunCtx): Promise<string[]> {
  const stages = Object.keys(ctx.config.pipeline.stages);
  const claimed = join(ctx.paths.dir, 'claimed');
  const workers = await listDirForView(ctx, claimed).catch(() => []);
  return [
    ctx.paths.dir,
    claimed,
    ...workers.map((w) => claimedDir(ctx, w)),
    ...stages.flatMap((s) => (['pending', 'completed', 'needs_review', 'failed'] as const).map((st) => stateDir(ctx, st, s))),
  ];
}

/**
 * Server-Sent Events for the page, fed by the watcher the daemon uses for its big directories
 * (one fs.watch per directory: DirEntryWatchers). Every `rescanMs` the directory set is listed
 * again (new runs, workers) and each directory's mtime compared, so a change the watcher missed
 * (a network filesystem, a watcher that failed) still reaches the page: polling as a fallback.
 */
export class BoardEvents {
  readonly #clients = new Set<ServerResponse>();
  readonly #watchers: DirEntryWatchers;
  readonly #mtimes = new Map<string, number>();
  readonly #pending = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #rescan: NodeJS.Timeout | undefined;
  #keepalive: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(
    private readonly root: string,
    private readonly runs: BoardRuns,
    private readonly rescanMs: number,
  ) {
    this.#watchers = new DirEntryWatchers(false, (dir) => this.#changed(dir), () => undefined);
  }

  async start(): Promise<void> {
    await this.#scan();
    const loop = (): void => {
      this.#rescan = setTimeout(() => void this.#scan().finally(() => !this.#closed && loop()), this.rescanMs);
    };
    loop();
    this.#keepalive = setInterval(() => this.#send(': keepalive\n\n'), KEEPALIVE_MS);
  }

  /** Add an EventSource client; it hears every change from now on. */
  subscribe(res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(': connected\n\n');
    this.#clients.add(res);
    res.on('close', () => this.#clients.delete(res));
  }

  #changed(dir: string): void {
    const run = relative(this.root, dir).split(sep)[0];
    if (run === undefined || run.startsWith('.')) return;
    // The root itself changing means a run came or went: an event with no run named.
    if (run !== '') {
      this.runs.touch(run);
      this.#pending.add(run);
    }
    this.#timer ??= setTimeout(() => this.#flush(), DEBOUNCE_MS);
  }

  #flush(): void {
    this.#timer = undefined;
    const runs = [...this.#pending].sort();
    this.#pending.clear();
    this.#send(`event: change\ndata: ${JSON.stringify({ runs })}\n\n`);
  }

  #send(text: string): void {
    for (const c of this.#clients) c.write(text);
  }

  async #scan(): Promise<void> {
    const dirs = [this.root];
    for (const run of await this.runs.runIds()) {
      const ctx = await this.runs.ctx(run).catch(() => undefined);
      if (ctx !== undefined) dirs.push(...(await stateDirsOf(ctx)));
    }
    for (const dir of dirs) {
      const st = await nodeFs.lstat(dir).catch(() => undefined);
      if (st === undefined || !st.isDirectory() || this.#closed) continue;
      this.#watchers.ensure(dir, st.ino);
      const before = this.#mtimes.get(dir);
      this.#mtimes.set(dir, st.mtimeMs);
      if (before !== undefined && before !== st.mtimeMs) this.#changed(dir);
    }
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#rescan);
    clearInterval(this.#keepalive);
    this.#watchers.close();
    for (const c of this.#clients) c.end();
    this.#clients.clear();
  }
}
