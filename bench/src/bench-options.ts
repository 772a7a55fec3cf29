/** Sizes for a full run and for a --quick smoke run (tiny: the machine is shared). */
export interface BenchOptions {
  quick: boolean;
  /** Figures to run ("1".."6"); all when empty. */
  only: Set<string>;
  lifecycleTickets: number;
  /** Tickets of figure 1's durable rows (fsync per change: slower by an order of magnitude). */
  durableTickets: number;
  lifecycleRounds: number;
  /** Figure 1's filesystems: disk, ext4j (a journaled ext4 on a loop device), tmpfs. */
  filesystems: Set<string>;
  /** In-process claim+submit loops per ticketq process (and per raw-floor process). */
  tqConcurrency: number;
  cliRounds: number;
  listingSizes: number[];
  listingRounds: number;
  claimBacklogs: [number, number];
  claimSamples: number;
  claimers: number;
  cascadeSamples: number;
  footprintTickets: number;
  footprintLoadSeconds: number;
  footprintLoadRate: number;
  /** Figure 7 (agent-like jobs): tickets, workers, ms per job, rounds. */
  shapeTickets: number;
  shapeWorkers: number;
  shapeJobMs: number;
  shapeRounds: number;
}

const VALUE_OPTIONS = ['only', 'fs', 'tickets', 'durable-tickets', 'rounds', 'concurrency', 'cli-rounds', 'listing-rounds', 'claim-samples', 'cascade-samples', 'footprint-tickets', 'load-seconds', 'load-rate', 'shape-tickets', 'shape-rounds'];

export const BENCH_USAGE = `usage: npm run bench [-- --quick] [--only 1,2,...] [--${VALUE_OPTIONS.slice(1).join(' N] [--')} N]
  --quick   a small smoke run (a few minutes); without it, the full run (about 20 min on 2 cores)
  --only    figures to run (1 lifecycle, 2 CLI, 3 listing, 4 claim cost, 5 cascade, 6 daemon footprint, 7 agent-like jobs)
  --fs      figure 1's filesystems (default disk,ext4j,tmpfs)
  --render  re-render docs/benchmarks.md from bench/results.json (no measuring)
  --merge F replace the figures of bench/results.json with those of a partial run's results.json F`;

/** Thrown for --help or an unknown option: a typo must not start a 45-minute run. */
export class BenchUsage extends Error {}

export function parseBenchOptions(argv: string[]): BenchOptions {
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i] as string;
    const name = a.replace(/^--/, '').replace(/=.*$/, '');
    if (a === '--quick') continue;
    if (a.startsWith('--') && VALUE_OPTIONS.includes(name)) {
      if (!a.includes('=')) i += 1;
      continue;
    }
    throw new BenchUsage(a === '--help' || a === '-h' ? BENCH_USAGE : `unknown option ${a}\n${BENCH_USAGE}`);
  }
  const quick = argv.includes('--quick');
  const value = (name: string): string | undefined => {
    const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
    if (i < 0) return undefined;
    const a = argv[i] as string;
    return a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[i + 1];
  };
  const list = (name: string, dflt: string): Set<string> => new Set((value(name) ?? dflt).split(',').map((s) => s.trim()).filter(Boolean));
  const only = list('only', '');
  const num = (name: string, full: number, small: number): number => {
    const v = value(name);
    return v !== undefined && Number.isFinite(Number(v)) ? Number(v) : quick ? small : full;
  };
  return {
    quick,
    only,
    // Why 10,000 and not the 20,000: 12 systems × 3 filesystems × 3 rounds must leave the
    // full run within 20 minutes on 2 cores (20,000 would add about 6 minutes); use --tickets for more.
    lifecycleTickets: num('tickets', 10_000, 1_000),
    durableTickets: num('durable-tickets', 500, 200),
    lifecycleRounds: num('rounds', 3, 2),
    filesystems: list('fs', 'disk,ext4j,tmpfs'),
    tqConcurrency: num('concurrency', 16, 16),
    cliRounds: num('cli-rounds', 25, 5),
    listingSizes: quick ? [2_000, 10_000] : [10_000, 100_000, 1_000_000],
    listingRounds: num('listing-rounds', 3, 2),
    claimBacklogs: quick ? [1_000, 20_000] : [1_000, 1_000_000],
    claimSamples: num('claim-samples', 400, 100),
    claimers: 16,
    cascadeSamples: num('cascade-samples', 100, 15),
    footprintTickets: num('footprint-tickets', 100_000, 5_000),
    footprintLoadSeconds: num('load-seconds', 15, 3),
    footprintLoadRate: num('load-rate', 100, 50),
    shapeTickets: num('shape-tickets', 1_000, 200),
    shapeWorkers: 16,
    shapeJobMs: 50,
    shapeRounds: num('shape-rounds', 3, 1),
  };
}

export function wants(opts: BenchOptions, figure: string): boolean {
  return opts.only.size === 0 || opts.only.has(figure);
}
