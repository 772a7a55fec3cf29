import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchOptions } from './bench-options.js';
import { startChild, numField, type Child } from './child-rpc.js';
import { daemonProblem, spawnDaemon, type DaemonProcess } from './daemon-process.js';
import { makeBigRun } from './make-big-run.js';
import { cpuPercent, delay, sampleProc, waitUntilQuiet, type ProcSample } from './proc-sample.js';
import { ratioRow, skippedRow, type Figure, type Row } from './report.js';
import { makeTempDir, removeDir } from './temp-dir.js';

const RSS_TARGET = { text: '< 150 MB', on: 'value', op: '<', bound: 150 } as const;

async function countCompleted(runDir: string): Promise<number> {
  try {
    return (await readdir(join(runDir, 'completed', 'work'))).length;
  } catch {
    return 0;
  }
}

/** Sample both processes every 250 ms over `ms`: CPU over the window, peak RSS seen. */
async function watchWindow(pids: number[], ms: number, during?: Promise<unknown>): Promise<{ cpu: number[]; rss: number[]; peak: number[] }> {
  const first = pids.map(sampleProc);
  const peak = first.map((s) => s.rssMb);
  let last: ProcSample[] = first;
  const end = performance.now() + ms;
  let done = during === undefined;
  void during?.finally(() => {
    done = true;
  });
  while (during ? !done : performance.now() < end) {
    await delay(250);
    last = pids.map(sampleProc);
    last.forEach((s, i) => (peak[i] = Math.max(peak[i] ?? 0, s.rssMb)));
  }
  return { cpu: first.map((f, i) => cpuPercent(f, last[i] as ProcSample)), rss: last.map((s) => s.rssMb), peak };
}

/**
 * Figure 6: RSS and CPU of `tq daemon` serving one big run, idle and under a steady load of
 * file-only results, beside a bare chokidar watcher on the same directories (same windows).
 */
export async function measureFootprint(opts: BenchOptions, log: (l: string) => void): Promise<Figure> {
  const root = await makeTempDir('footprint');
  const size = opts.footprintTickets;
  const label = size.toLocaleString('en-US');
  let daemon: DaemonProcess | undefined;
  const children: Child[] = [];
  try {
    log(`  making a run of ${label} tickets...`);
    const ctx = await makeBigRun({ root, runId: 'big', tickets: size, completed: 0.25, claimed: 0.05, workers: 16 }, log);
    const bare = await startChild('chokidar-watcher');
    children.push(bare);
    await bare.call({ cmd: 'watch-run', dir: ctx.paths.dir });
    const t0 = performance.now();
    daemon = spawnDaemon(root, ['big']);
    await delay(300);
    const early = daemonProblem(daemon);
    if (early) return pendingFigure(early, size);
    const quiet = await waitUntilQuiet(daemon.pid, 10, 1000, 180_000);
    const startup = (performance.now() - t0) / 1000;
    const problem = daemonProblem(daemon);
    if (problem) return pendingFigure(problem, size);
    const idleSeconds = Math.max(4, opts.footprintLoadSeconds);
    log(`  daemon quiet after ${startup.toFixed(1)} s${quiet.quiet ? '' : ' (never quiet: timed out)'}; idle window ${idleSeconds} s`);
    const idle = await watchWindow([daemon.pid, bare.pid], idleSeconds * 1000);

    const driver = await startChild('load-driver');
    children.push(driver);
    await driver.call({ cmd: 'open', root, runId: 'big' });
    const before = await countCompleted(ctx.paths.dir);
    const loadP = driver.call({ cmd: 'load', rate: opts.footprintLoadRate, seconds: opts.footprintLoadSeconds });
    const load = await watchWindow([daemon.pid, bare.pid], 0, loadP);
    const written = numField(await loadP, 'written');
    const loadEnd = performance.now();
    const deadline = loadEnd + 120_000;
    while ((await countCompleted(ctx.paths.dir)) < before + written && performance.now() < deadline) await delay(50);
    const lag = performance.now() - loadEnd;
    const served = (await countCompleted(ctx.paths.dir)) - before;
    const after = sampleProc(daemon.pid);
    log(`  daemon idle ${idle.rss[0]?.toFixed(0)} MB ${idle.cpu[0]?.toFixed(1)}% CPU; load ${load.peak[0]?.toFixed(0)} MB ${load.cpu[0]?.toFixed(1)}% CPU; served ${served}/${written}, caught up ${Math.round(lag)} ms after`);
    const rows: Row[] = [
      ratioRow(`daemon RSS, idle, ${label}-ticket run`, idle.rss[0] ?? Number.NaN, 'MB', 'bare chokidar watcher', idle.rss[1] ?? Number.NaN, RSS_TARGET),
      ratioRow(`daemon peak RSS under load`, Math.max(load.peak[0] ?? 0, after.peakRssMb), 'MB', 'bare chokidar watcher', load.peak[1] ?? Number.NaN, RSS_TARGET),
      ratioRow('daemon CPU, idle', idle.cpu[0] ?? Number.NaN, '% of a core', 'bare chokidar watcher', idle.cpu[1] ?? Number.NaN),
      ratioRow(`daemon CPU, ${opts.footprintLoadRate} results/s`, load.cpu[0] ?? Number.NaN, '% of a core', 'bare chokidar watcher', load.cpu[1] ?? Number.NaN),
      { label: 'daemon start → quiet (first full pass done)', value: startup, unit: 's' },
      { label: `results served of ${written} written`, value: served, unit: '', note: `last one ${Math.round(lag)} ms after the load stopped` },
    ];
    return figure(rows, size, opts);
  } finally {
    await daemon?.stop();
    await Promise.all(children.map((c) => c.stop()));
    await removeDir(root);
  }
}

function figure(rows: Row[], size: number, opts: BenchOptions): Figure {
  return {
    id: '6',
    title: '6. Daemon footprint',
    description: `\`tq daemon\` serving one run of ${size.toLocaleString('en-US')} tickets (70% pending, 25% completed, 5% claimed by 16 workers). Idle: after its first full pass, over a window of several of its 2 s rescans. Load: a driver claims tickets and publishes their result files at ${opts.footprintLoadRate}/s for ${opts.footprintLoadSeconds} s, as file-only workers would; the daemon submits them. CPU in % of one core over the window (user + system, from /proc), RSS from /proc. Baseline: a bare chokidar watcher on the same directories, measured in the same windows.`,
    rows,
    notes: [],
  };
}

function pendingFigure(problem: string, size: number): Figure {
  return {
    id: '6',
    title: '6. Daemon footprint',
    description: `\`tq daemon\` serving one run of ${size.toLocaleString('en-US')} tickets.`,
    rows: [skippedRow('daemon RSS, idle', problem, RSS_TARGET), skippedRow('daemon peak RSS under load', problem, RSS_TARGET)],
    notes: [],
  };
}
