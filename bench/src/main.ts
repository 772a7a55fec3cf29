/**
 * `npm run bench`: measure ticketq against real peers and raw baselines, and write
 * docs/benchmarks.md + bench/results.json. `-- --quick` runs tiny sizes (a smoke run);
 * `-- --only 1,3` runs some figures.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadavg, tmpdir } from 'node:os';
import { BenchUsage, parseBenchOptions, wants } from './bench-options.js';
import { measureLifecycle } from './measure-lifecycle.js';
import { measureCliLatency } from './measure-cli-latency.js';
import { measureListing } from './measure-listing.js';
import { measureClaimCost } from './measure-claim-cost.js';
import { measureCascade } from './measure-cascade.js';
import { measureFootprint } from './measure-footprint.js';
import { checkPeers } from './peer-setup.js';
import { measureAgentShape } from './measure-agent-shape.js';
import { ensureRedisInstalled } from './redis-server.js';
import { removeDeferred } from './temp-dir.js';
import { newReport, reviveReport, verdict, writeReport, type Figure } from './report.js';
import { renderAnalysis } from './analysis.js';
import { REPO_ROOT } from './ticketq.js';
import { round } from './stats.js';

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const mergeAt = argv.indexOf('--merge');
  if (mergeAt >= 0) {
    // Replace figures of bench/results.json with those of a later partial run (--only N), e.g.
    // when a figure of the full run failed. Each replaced figure says so in its notes.
    const from = argv[mergeAt + 1];
    if (!from) throw new Error('--merge needs the results.json of a partial run');
    const full = reviveReport(await readFile(join(REPO_ROOT, 'bench', 'results.json'), 'utf8'));
    const part = reviveReport(await readFile(from, 'utf8'));
    for (const fig of part.figures) {
      fig.measured ??= { command: part.command, generated_at: part.generated_at, seconds: Number.NaN };
      fig.notes.push(`Measured by a separate \`${part.command}\` (load average before ${part.machine.load_before.join(' / ')}), same machine, and merged into this report with \`--merge\`.`);
      const i = full.figures.findIndex((f) => f.id === fig.id);
      if (i >= 0) full.figures[i] = fig;
      else full.figures.push(fig);
    }
    full.figures.sort((a, b) => a.id.localeCompare(b.id));
    await writeReport(full, join(REPO_ROOT, 'docs', 'benchmarks.md'), join(REPO_ROOT, 'bench', 'results.json'), renderAnalysis(full));
    log(`merged figure(s) ${part.figures.map((f) => f.id).join(', ')} from ${from} into bench/results.json and docs/benchmarks.md`);
    return;
  }
  if (argv.includes('--render')) {
    // Re-render docs/benchmarks.md from bench/results.json (no measuring).
    const report = reviveReport(await readFile(join(REPO_ROOT, 'bench', 'results.json'), 'utf8'));
    await writeReport(report, join(REPO_ROOT, 'docs', 'benchmarks.md'), undefined, renderAnalysis(report));
    log('rendered docs/benchmarks.md from bench/results.json');
    return;
  }
  let opts;
  try {
    opts = parseBenchOptions(argv);
  } catch (err) {
    if (!(err instanceof BenchUsage)) throw err;
    log(err.message);
    process.exitCode = argv.includes('--help') || argv.includes('-h') ? 0 : 2;
    return;
  }
  const report = newReport(opts.quick ? 'quick' : 'full', `npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`);
  const started = performance.now();
  const figures: { id: string; run: () => Promise<Figure> }[] = [];

  let redisProblem: string | undefined;
  const needPeers = wants(opts, '1') || wants(opts, '7');
  const peers = needPeers ? checkPeers() : {};
  if (peers.bullmq) log(`BullMQ cannot run: ${peers.bullmq}`);
  if (peers.plainjob) log(`plainjob cannot run: ${peers.plainjob}`);
  if (needPeers && !peers.bullmq) {
    // Why no server here: each BullMQ round starts its own redis-server (its files on the filesystem under test).
    redisProblem = ensureRedisInstalled(log);
    if (redisProblem) log(`BullMQ cannot run: ${redisProblem}`);
  }
  const peerEnv = { peers, ...(redisProblem ? { redisProblem } : {}), log };

  figures.push({ id: '1', run: () => measureLifecycle(opts, peerEnv) });
  figures.push({ id: '2', run: () => measureCliLatency(opts, log) });
  figures.push({ id: '3', run: () => measureListing(opts, log) });
  figures.push({ id: '4', run: () => measureClaimCost(opts, log) });
  figures.push({ id: '5', run: () => measureCascade(opts, log) });
  figures.push({ id: '6', run: () => measureFootprint(opts, log) });
  figures.push({ id: '7', run: () => measureAgentShape(opts, peerEnv) });

  try {
    for (const f of figures) {
      if (!wants(opts, f.id)) continue;
      log(`figure ${f.id}...`);
      const t = performance.now();
      let fig: Figure;
      try {
        fig = await f.run();
      } catch (err) {
        // Why: one broken figure (a daemon mid-rewrite, a full disk) must not lose the others.
        const why = err instanceof Error ? (err.message.split('\n')[0] ?? 'failed') : String(err);
        log(`figure ${f.id} FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        fig = { id: f.id, title: `${f.id}. (failed)`, description: `This figure failed: ${why}`, rows: [], notes: [] };
      }
      fig.measured = { command: report.command, generated_at: report.generated_at, seconds: (performance.now() - t) / 1000 };
      report.figures.push(fig);
      log(`figure ${f.id} done in ${Math.round((performance.now() - t) / 1000)} s`);
      for (const r of fig.rows) {
        const v = verdict(r);
        log(`  ${r.label}: ${r.status ?? `${round(r.value)} ${r.unit}`}${r.ratio !== undefined && !r.status ? ` = ${round(r.ratio, 3)}× ${r.baselineLabel}` : ''}${r.cpu !== undefined ? ` (CPU ${round(r.cpu, 1)} vs ${round(r.baselineCpu ?? Number.NaN, 1)} µs)` : ''}${r.target ? ` [${r.target.text}: ${v || 'not measured'}]` : ''}`);
      }
    }
  } finally {
    // Why at the very end: deleting figure 1's files earlier would tax the creations of later figures.
    await removeDeferred();
  }
  report.wall_seconds = (performance.now() - started) / 1000;
  report.machine.load_after = loadavg().map((l) => round(l, 2));
  // Why: a smoke run must not overwrite the published figures.
  const outDir = opts.quick || opts.only.size > 0 ? join(tmpdir(), 'ticketq-bench') : undefined;
  if (outDir) await mkdir(outDir, { recursive: true });
  const md = outDir ? join(outDir, 'benchmarks.md') : join(REPO_ROOT, 'docs', 'benchmarks.md');
  const json = outDir ? join(outDir, 'results.json') : join(REPO_ROOT, 'bench', 'results.json');
  await writeReport(report, md, json, renderAnalysis(report));
  log(`wrote ${md} and ${json}`);
}

main().catch((err: unknown) => {
  log(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
});
