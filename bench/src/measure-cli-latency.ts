import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchOptions } from './bench-options.js';
import { ratioRow, type Figure, type Row } from './report.js';
import { checkOk, timeNode } from './spawn-timed.js';
import { median } from './stats.js';
import { makeTempDir, removeDir } from './temp-dir.js';
import { OUTPUT, PAYLOAD, payloadItems } from './payload.js';
import { addTickets, createRun, itemsOf, REPO_ROOT, TQ_BIN } from './ticketq.js';

const TARGET = { text: '≤ 1.5× node -e 0', on: 'ratio', op: '<=', bound: 1.5 } as const;
const CPU_TARGET = { text: '≤ 1.5× node -e 0 (CPU)', on: 'ratio', op: '<=', bound: 1.5 } as const;

/** Wall-time rows (medians `m`), then CPU-time rows (medians `c`), each ÷ `node -e 0` measured the same way. */
function cliRows(m: (k: string) => number, c: (k: string) => number): Row[] {
  const node = m('node');
  return [
    ratioRow('tq claim', m('claim'), 'ms', 'node -e 0', node, TARGET),
    ratioRow('tq submit', m('submit'), 'ms', 'node -e 0', node, TARGET),
    ratioRow('tq status', m('status'), 'ms', 'node -e 0', node, TARGET),
    ratioRow('tq claim, CPU time', c('claim'), 'ms', 'node -e 0, CPU time', c('node'), CPU_TARGET),
    ratioRow('tq submit, CPU time', c('submit'), 'ms', 'node -e 0, CPU time', c('node'), CPU_TARGET),
    ratioRow('tq status, CPU time', c('status'), 'ms', 'node -e 0, CPU time', c('node'), CPU_TARGET),
    ratioRow('tq claim, bundle without its V8 code cache (TQ_CODE_CACHE=0)', m('nclaim'), 'ms', 'node -e 0', node),
    ratioRow('tq status, bundle without its V8 code cache', m('nstatus'), 'ms', 'node -e 0', node),
    ratioRow('tq claim, unbundled tsc output (dist/cli/main.js)', m('uclaim'), 'ms', 'node -e 0', node),
    ratioRow('tq status, unbundled tsc output', m('ustatus'), 'ms', 'node -e 0', node),
    ratioRow('node + import zod only', m('zod'), 'ms', 'node -e 0', node),
    ratioRow('node + import yargs only', m('yargs'), 'ms', 'node -e 0', node),
    ratioRow('node + import chokidar only', m('chokidar'), 'ms', 'node -e 0', node),
    ratioRow('node + import dist/index.js (library, no yargs)', m('index'), 'ms', 'node -e 0', node),
    ratioRow('node + load the CLI bundle with its code cache (no command)', m('main'), 'ms', 'node -e 0', node),
  ];
}

/**
 * Figure 2: wall and CPU time of one `tq` command, start to exit, ÷ `node -e 0`. Also what loading
 * costs: spawning a process that only imports a module tells how much of `tq claim` is
 * module loading and how much is work.
 */
export async function measureCliLatency(opts: BenchOptions, log: (l: string) => void): Promise<Figure> {
  const root = await makeTempDir('cli');
  try {
    // Default durability ('full'): what a user gets.
    const ctx = await createRun(root, 'cli', { pipeline: { stages: { work: {} }, cascade: [] } });
    await addTickets(ctx, 'work', itemsOf(payloadItems(3 * (opts.cliRounds + 2))));
    const outFile = join(root, 'output.json');
    await writeFile(outFile, JSON.stringify(OUTPUT));
    const tq = (args: string[]): string[] => [TQ_BIN, '--root', root, ...args];
    // The tsc output run directly: what the bundle and its code cache save.
    const unbundled = (args: string[]): string[] => [
      '--input-type=module',
      '-e',
      `const { main } = await import(${JSON.stringify(join(REPO_ROOT, 'dist', 'cli', 'main.js'))}); process.exitCode = await main(process.argv.slice(1));`,
      // Why '--': without it node takes --root as one of its own options.
      '--',
      '--root',
      root,
      ...args,
    ];
    const noCache = { env: { ...process.env, TQ_CODE_CACHE: '0' } };
    const loadBundle = ['--input-type=module', '-e', `const { loadCli } = await import(${JSON.stringify(join(REPO_ROOT, 'bin', 'load-cli.cjs'))}); await loadCli();`];
    const importOnly = (spec: string): string[] => ['--input-type=module', '-e', `await import(${JSON.stringify(spec)})`];
    const t: Record<string, number[]> = { node: [], claim: [], submit: [], status: [], zod: [], yargs: [], chokidar: [], main: [], index: [], uclaim: [], ustatus: [], nclaim: [], nstatus: [] };
    const cpu: Record<string, number[]> = { node: [], claim: [], submit: [], status: [] };
    const push = (k: string, ms: number): void => {
      t[k]?.push(ms);
    };
    // One warm-up of each so the page cache holds every module file.
    for (let r = -1; r < opts.cliRounds; r += 1) {
      const node = checkOk(timeNode(['-e', '0']), 'node -e 0');
      const claim = checkOk(timeNode(tq(['claim', 'cli', '--type', 'work', '--worker', 'w1', '--json'])), 'tq claim');
      const claimed = JSON.parse(claim.result.stdout) as { ticket: { ticket_id: string; claim: { token: string } } };
      const submit = checkOk(timeNode(tq(['submit', 'cli', claimed.ticket.ticket_id, '--worker', 'w1', '--output', outFile, '--token', claimed.ticket.claim.token])), 'tq submit');
      const status = checkOk(timeNode(tq(['status', 'cli'])), 'tq status');
      const zod = checkOk(timeNode(importOnly('zod'), { cwd: REPO_ROOT }), 'import zod');
      const yargs = checkOk(timeNode(importOnly('yargs'), { cwd: REPO_ROOT }), 'import yargs');
      const chokidar = checkOk(timeNode(importOnly('chokidar'), { cwd: REPO_ROOT }), 'import chokidar');
      const main = checkOk(timeNode(loadBundle), 'load the CLI bundle');
      const index = checkOk(timeNode(importOnly(join(REPO_ROOT, 'dist', 'index.js'))), 'import dist/index.js');
      const uclaim = checkOk(timeNode(unbundled(['claim', 'cli', '--type', 'work', '--worker', 'w2', '--json'])), 'unbundled tq claim');
      const ustatus = checkOk(timeNode(unbundled(['status', 'cli'])), 'unbundled tq status');
      const nclaim = checkOk(timeNode(tq(['claim', 'cli', '--type', 'work', '--worker', 'w3', '--json']), noCache), 'tq claim without code cache');
      const nstatus = checkOk(timeNode(tq(['status', 'cli']), noCache), 'tq status without code cache');
      if (r < 0) continue;
      push('uclaim', uclaim.ms);
      push('ustatus', ustatus.ms);
      push('nclaim', nclaim.ms);
      push('nstatus', nstatus.ms);
      push('node', node.ms);
      push('claim', claim.ms);
      push('submit', submit.ms);
      push('status', status.ms);
      cpu.node?.push(node.cpuMs);
      cpu.claim?.push(claim.cpuMs);
      cpu.submit?.push(submit.cpuMs);
      cpu.status?.push(status.cpuMs);
      push('zod', zod.ms);
      push('yargs', yargs.ms);
      push('chokidar', chokidar.ms);
      push('main', main.ms);
      push('index', index.ms);
    }
    const m = (k: string): number => median(t[k] ?? []);
    log(`  cli medians (ms): ${Object.keys(t).map((k) => `${k} ${Math.round(m(k))}`).join(', ')}`);
    const c = (k: string): number => median(cpu[k] ?? []);
    log(`  cli CPU medians (ms): ${Object.keys(cpu).map((k) => `${k} ${Math.round(c(k))}`).join(', ')}`);
    const node = m('node');
    const rows = cliRows(m, c);
    const load = m('main') - node;
    const work = m('claim') - m('main');
    return {
      id: '2',
      title: '2. CLI latency',
      description: `Wall time of one command, start to exit, and its CPU time (user + system of the process, from its rusage: each command runs under bash's \`time\` keyword, which reports both for the child alone), median of ${opts.cliRounds} rounds (commands interleaved), ÷ \`node -e 0\` run the same way. The run uses the default durability ('full'). \`tq\` runs the esbuild bundle dist/bundle/tq.cjs through bin/load-cli.cjs with its V8 code cache; the rows below it take those away one at a time. The "import"/"load" rows spawn a process that only loads code: they split \`tq claim\` into start-up, loading and work.`,
      rows,
      notes: [
        `\`tq claim\` = node start-up ${Math.round(node)} ms + loading the bundle ${Math.round(load)} ms (${Math.round((load / m('claim')) * 100)}%) + parsing and the claim itself ${Math.round(work)} ms.`,
      ],
    };
  } finally {
    await removeDir(root);
  }
}
