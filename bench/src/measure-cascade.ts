import { watch, existsSync, type FSWatcher } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchOptions } from './bench-options.js';
import { startChild, type Child } from './child-rpc.js';
import { daemonProblem, spawnDaemon, type DaemonProcess } from './daemon-process.js';
import { delay } from './proc-sample.js';
import { ratioRow, skippedRow, type Figure, type Row } from './report.js';
import { median, percentile } from './stats.js';
import { makeTempDir, removeDir } from './temp-dir.js';
import { OUTPUT, PAYLOAD, payloadItems } from './payload.js';
import { addTickets, childTicketId, claimTicket, createRun, itemsOf } from './ticketq.js';

const TARGET = { text: '≤ 2× bare watcher p99', on: 'ratio', op: '<=', bound: 2 } as const;
const WARMUP = 3;
/** Pause between samples so that one sample's after-work does not queue the next. */
const GAP_MS = 25;

/** Resolve when `file` exists in `dir`, seen through fs.watch (inotify): the observer is the same for both paths. */
function appearance(dir: string, name: string, timeoutMs: number): { seen: Promise<number>; close: () => void } {
  let w: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  const seen = new Promise<number>((resolve, reject) => {
    const check = (): void => {
      if (existsSync(join(dir, name))) resolve(performance.now());
    };
    w = watch(dir, () => check());
    timer = setTimeout(() => reject(new Error(`${name} did not appear in ${dir} within ${timeoutMs} ms`)), timeoutMs);
    check();
  });
  return {
    seen,
    close: () => {
      w?.close();
      if (timer) clearTimeout(timer);
    },
  };
}

/** Write a complete file under `tmpDir`, then rename it to `path` (one inotify event, never half a file). */
async function publish(tmpDir: string, path: string, text: string): Promise<number> {
  const tmp = join(tmpDir, `bench-${Math.random().toString(36).slice(2)}.tmp`);
  await writeFile(tmp, text);
  const t = performance.now();
  await rename(tmp, path);
  return t;
}

async function sampleLatency(watchDir: string, name: string, doPublish: () => Promise<number>): Promise<number> {
  const a = appearance(watchDir, name, 30_000);
  try {
    const t0 = await doPublish();
    return (await a.seen) - t0;
  } finally {
    a.close();
  }
}

/**
 * Figure 5: a file-only worker writes claimed/<w>/<id>.result.json; the daemon submits it and
 * cascades; we time until the child exists in pending/<next>/. Baseline: a bare chokidar watcher
 * that writes a file when it sees one.
 */
export async function measureCascade(opts: BenchOptions, log: (l: string) => void): Promise<Figure> {
  const root = await makeTempDir('cascade');
  let daemon: DaemonProcess | undefined;
  let echo: Child | undefined;
  let echoFs: Child | undefined;
  const n = opts.cascadeSamples;
  try {
    // Default durability ('full'), as a user runs it.
    const ctx = await createRun(root, 'casc', { pipeline: { stages: { a: {}, b: {} }, cascade: [{ from: 'a', to: 'b' }] } });
    await addTickets(ctx, 'a', itemsOf(payloadItems(n + WARMUP)));
    const parents: string[] = [];
    for (let i = 0; i < n + WARMUP; i += 1) {
      const c = await claimTicket(ctx, { stage: 'a', workerId: 'w1' });
      if (!c) throw new Error('could not claim a parent');
      parents.push(c.ticket.ticket_id);
    }
    const tmpDir = join(root, 'casc', '.tmp');
    await mkdir(tmpDir, { recursive: true });
    await mkdir(join(root, 'casc', 'pending', 'b'), { recursive: true });
    const result = `${JSON.stringify({ output_data: OUTPUT })}\n`;

    // Bare watcher baseline.
    const from = join(root, 'echo-in');
    const to = join(root, 'echo-out');
    await mkdir(from);
    await mkdir(to);
    echo = await startChild('chokidar-watcher');
    await echo.call({ cmd: 'echo', from, to });
    const fromFs = join(root, 'fsw-in');
    const toFs = join(root, 'fsw-out');
    await mkdir(fromFs);
    await mkdir(toFs);
    echoFs = await startChild('chokidar-watcher');
    await echoFs.call({ cmd: 'echo-fswatch', from: fromFs, to: toFs });
    const bareFs: number[] = [];
    const bare: number[] = [];
    const tq: number[] = [];

    daemon = spawnDaemon(root, ['casc']);
    const one = async (i: number): Promise<number> => {
      const parent = parents[i] as string;
      const child = `${childTicketId({ to: 'b', parentId: parent })}.json`;
      return sampleLatency(join(root, 'casc', 'pending', 'b'), child, () => publish(tmpDir, join(root, 'casc', 'claimed', 'w1', `${parent}.result.json`), result));
    };
    try {
      for (let i = 0; i < WARMUP; i += 1) await one(i);
    } catch (err) {
      await delay(200);
      const problem = daemonProblem(daemon);
      if (problem) return pendingFigure(problem);
      throw new Error(`${err instanceof Error ? err.message : String(err)}; daemon log: ${daemon.log().slice(-1000)}`);
    }
    for (let i = 0; i < WARMUP; i += 1) await sampleLatency(to, `warm-${i}.json`, () => publish(root, join(from, `warm-${i}.json`), '{}\n'));
    for (let i = 0; i < n; i += 1) {
      // Interleaved, so both see the same machine.
      bare.push(await sampleLatency(to, `f-${i}.json`, () => publish(root, join(from, `f-${i}.json`), '{}\n')));
      await delay(GAP_MS);
      bareFs.push(await sampleLatency(toFs, `f-${i}.json`, () => publish(root, join(fromFs, `f-${i}.json`), '{}\n')));
      await delay(GAP_MS);
      tq.push(await one(WARMUP + i));
      await delay(GAP_MS);
    }
    log(`  cascade p50 ${median(tq).toFixed(1)} ms p99 ${percentile(tq, 99).toFixed(1)} ms; bare watcher p50 ${median(bare).toFixed(1)} p99 ${percentile(bare, 99).toFixed(1)} ms`);
    const rows: Row[] = [
      ratioRow('result file → child in pending/, p50', median(tq), 'ms', 'bare chokidar watcher, p50', median(bare)),
      ratioRow('result file → child in pending/, p99', percentile(tq, 99), 'ms', 'bare chokidar watcher, p99', percentile(bare, 99), TARGET),
      ratioRow('bare fs.watch watcher (no chokidar), p50', median(bareFs), 'ms', 'bare chokidar watcher, p50', median(bare), undefined, 'what the watcher itself costs'),
      ratioRow('bare fs.watch watcher (no chokidar), p99', percentile(bareFs, 99), 'ms', 'bare chokidar watcher, p99', percentile(bare, 99)),
    ];
    return figure(rows, n);
  } finally {
    await daemon?.stop();
    await echo?.stop();
    await echoFs?.stop();
    await removeDir(root);
  }
}

function figure(rows: Row[], n: number): Figure {
  return {
    id: '5',
    title: '5. Cascade latency through the daemon',
    description: `A file-only worker publishes \`claimed/<worker>/<id>.result.json\` (write to a temp file, rename); \`tq daemon\` takes it, submits, and the cascade creates the child; time from the rename until the child exists in \`pending/b/\`, seen through fs.watch. ${n} samples, ${GAP_MS} ms apart, interleaved with the baseline: a bare chokidar watcher (\`add\` event) that writes a file into a second directory when a file appears in the first, seen the same way. Run durability: the default ('full').`,
    rows,
    notes: [],
  };
}

function pendingFigure(problem: string): Figure {
  return figure([skippedRow('result file → child in pending/, p50', problem), skippedRow('result file → child in pending/, p99', problem, TARGET)], 0);
}
