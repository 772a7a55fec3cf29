import type { Report, Row } from './report.js';

/** The row whose label starts with `label` (and whose baseline starts with `base`, when given). */
function find(report: Report, figure: string, label: string, base?: string): Row | undefined {
  const f = report.figures.find((x) => x.id === figure);
  return f?.rows.find((r) => r.label.startsWith(label) && (base === undefined || (r.baselineLabel ?? '').startsWith(base)));
}

function ratio(r: Row | undefined): string {
  return r && r.ratio !== undefined && Number.isFinite(r.ratio) && !r.status ? `${r.ratio.toFixed(2)}×` : 'n/a';
}

function num(r: Row | undefined, digits = 0): string {
  return r && Number.isFinite(r.value) && !r.status ? r.value.toFixed(digits) : 'n/a';
}

/**
 * What limits ticketq where it misses a target, from profiling (node --cpu-prof, strace -c and
 * a counting Fs). Counts are exact and machine-independent; times come from this run's report.
 */
export function renderAnalysis(report: Report): string {
  const syncFs = find(report, '1', 'ticketq, 1 process, all-synchronous Fs');
  const bundleClaim = find(report, '2', 'tq claim, esbuild bundle');
  const claim = find(report, '2', 'tq claim');
  const main = find(report, '2', 'node + import dist/cli/main.js');
  const crowdRaw = find(report, '4', '16 claimers, claims/s', '16 raw claimers');
  const fsWatch = find(report, '5', 'bare fs.watch watcher (no chokidar), p50');
  const drained = find(report, '4', 'claim p50, 1,000,000 backlog after') ?? find(report, '4', 'claim p50,', 'claim p50, 1,000 pending');
  const served = find(report, '6', 'results served');
  const idleCpu = find(report, '6', 'daemon CPU, idle');
  return `## What limits ticketq, and what would fix it

Profiled with \`node --cpu-prof\`, \`strace -f -c\` and a counting \`Fs\` (\`node bench/dist/profile-lifecycle.js 500 1 none all --count\`,
\`strace -f -c node bench/dist/profile-lifecycle.js 1000 1 none create|all --sync-fs\`). Counts below are exact; times are this run's.

### Lifecycle (figure 1): file creations and thread-pool round trips

| per ticket | ticketq | raw floor |
| --- | ---: | ---: |
| \`Fs\` calls, create (birth) | 6: writeFileExclusive ×2 (staged .new + registry temp), link, unlink, rename | 1 writeFile |
| \`Fs\` calls, claim + submit | 11: opendir, rename ×4, readFile, readFileWithIno, writeFileExclusive ×2, lstat, unlink | 2 renames |
| thread-pool round trips (open/write/close/fstat each count) | ≈ 33 | 5 |
| files created (O_CREAT: ext4 inode + journal) | 4 (staged, registry copy, claim stamp, submit .next) | 1 |
| inodes freed (unlink or rename-over) | 3 (registry temp, stamp replaces the claimed file, .prev) | 0 |

- The CPU profile of one process is ~73% idle: the main thread waits for libuv's 4-thread pool, and each call
  costs a futex + eventfd + epoll hand-off (strace: ~113 futex and ~53 epoll_pwait calls per ticket). Kernel time
  is dominated by file creation (openat O_CREAT: ~180 µs/call under this machine's load, vs ~40 µs for rename).
- Timing each \`Fs\` call (\`--count\`, one loop): a creation (\`writeFileExclusive\`) or an \`unlink\` takes 5–8× a
  rename; in claim + submit the two creations and the unlink are ~2/3 of the time. With 16 loops per process the
  calls mostly wait in the thread-pool queue (all of a process's creations go to the same two directories,
  moving/ and .tmp/, whose inode lock serialises them), so more loops do not help.
- So the raw-floor target (≥ 0.7×) is out of reach by construction: the fenced protocol needs ~4 creations and
  ~3 frees per ticket where the floor needs 1 and 0; with metadata operations of similar cost the ceiling is
  roughly 0.25–0.3× of the floor. Closing the gap to BullMQ/plainjob would need fewer metadata operations per
  ticket, not faster JavaScript: zod parsing and serialisation are < 3% of the profile.
- Changes that keep every guarantee, biggest first:
  1. **Registry by hard link, not by copy** (birth-ticket.ts): saves 1 file creation, 1 unlink and 4 round
     trips per birth (9 → 5). It was recently made a copy so that editing pending/<id>.json in place cannot
     rewrite the birth record; with a link that exposure lasts only while the ticket is pending (the first
     claim's stamp replaces the pending file's inode, leaving the registry's untouched). The lead's call; not done.
  2. **One read per ticket file**: \`nodeFs.readFileWithIno\` does fstat twice (\`fh.stat()\` then \`fh.readFile()\`,
     which stats again); reading \`st.size + 1\` bytes with \`fh.read\` saves one round trip per submit and per
     fenced move (−3%). Small; not done because other helpers' fault-injection tests wrap \`nodeFs\` right now.
  3. **Not a synchronous \`Fs\`**: the experiment row (\`bench/src/sync-fs.ts\`, passed as \`RunOptions.fs\`) is
     ${ratio(syncFs)} of the async one with 16 loops per process: it saves the hand-offs (about −30% per ticket
     with a single loop in \`profile-lifecycle\`), but a blocked event loop cannot overlap the slow journal waits.
     At most an option for one-shot CLI commands.

### CLI latency (figure 2): module loading, not work

- \`tq claim\` = ${num(claim)} ms; importing \`dist/cli/main.js\` alone = ${num(main)} ms: loading is most of it.
  The CPU profile of \`tq status\`: ESM resolve/load/compile of ~150 files ≈ 45%, yargs building the help text
  it caches before every command (\`usage.cacheHelpMessage\` → cliui/string-width, ≈ 8%), zod building
  schemas at import ≈ 7%, the command itself < 5%.
- **esbuild bundle** (experiment row: ${ratio(bundleClaim)} of \`node -e 0\` for \`tq claim\`, vs ${ratio(claim)} unbundled):
  \`npm run build\` = \`tsc && esbuild dist/cli/main.js --bundle --minify --platform=node --format=esm
  --outfile=dist/cli/tq.bundle.js\`; bin/tq.js stays a shim that imports the bundle. Not done here because
  \`test/helpers/build-dist.ts\` rebuilds dist/ with tsc only: a bundle would go stale during development
  unless that helper (or bin/tq.js) also rebuilds/falls back — coordinate with the CLI and test owners.
- Then, to reach ≤ 1.5×: lazy \`import()\` of the daemon (chokidar), \`top\` (log-update) and graph commands so
  the bundle's hot path is smaller (esbuild \`--splitting\`), and \`module.enableCompileCache()\` when Node ≥ 22.1.

### Listing (figure 3)

- Below ~100,000 tickets the CLI rows measure process start-up and module loading (see figure 2).
- \`listTickets()\` on 200,000 tickets (CPU profile): garbage collection 40%, waiting for the async readdir
  35%, \`path.join\` for every entry's \`path\` 11%, the sort and the entry objects 8%; the name regex is ~2%.
  \`tq list\` then builds a padded text table of every row in memory before printing.
- Fixes (core + CLI, small): build \`path\` by concatenation (names are validated) or lazily; sort each directory's
  names only when asked (\`--sort\`) since ids already sort by creation time; print rows as they are listed
  instead of one padded table (fixed column widths, or widths from the first page).

### Claim (figure 4)

- Claim reads only the first 64 directory entries, so on a fresh directory its cost does not grow with the
  backlog (target met). **But a drained directory is slow**: ext4 never shrinks a directory, and readdir walks
  the emptied blocks at its front, which are exactly the blocks claimers emptied. With 500,000 of 1,000,000
  claimed, one claim costs ${ratio(drained)} the 1k claim — a long-running stage gets slower as it drains.
- Fixes: (1) in a long-lived process (library worker, daemon serving requests), keep the \`Dir\` handle open
  and read the next 64 names from where the last batch ended, reopening only at the end (new tickets are found
  on reopen; small change in claim-ticket.ts); (2) the daemon can notice a pending/<stage>/ whose directory
  size (\`st_size\`) is far larger than its entry count needs, and rebuild it (move the entries into a fresh
  directory, then swap) — a protocol change; (3) shard pending/<stage>/ into time buckets that are removed
  when empty.
- 16 claimers reach ${ratio(crowdRaw)} of 16 raw claimers (readdir + rename only): with 16 processes on 2
  cores the loss comes from the processes and the shared directory lock, not from lost races (strace: ~6% of
  claim renames fail with ENOENT).

### Daemon (figures 5 and 6): chokidar re-reads whole directories

- strace of \`tq daemon\` serving 100 result files (100 claimed tickets): **193 statx and 62 getdents64 per
  result**, against 4 renames and 10 fsyncs of real work. chokidar re-reads every watched directory that
  changes and lstat()s every entry in it (readdirp \`_formatEntry\`: 54% of a bare watcher's CPU profile), even
  though the daemon ignores files: cost per event is O(entries in claimed/<worker>/ and completed/<stage>/).
  A bare chokidar watcher with the daemon's options used >100% of a core at 50 files/s into a 1,250-file
  directory.
- \`cascadeCompleted\` lists completed/<stage>/ and cascade/done/ in full for every hint: O(n) per completion,
  O(n²) over a run. The reaper reads and parses every claimed ticket on every 2 s pass.
- In figure 6 the daemon served ${num(served)} of the results written at a steady rate and had not caught up
  when the harness stopped waiting; idle, it used ${num(idleCpu)}% of a core: every 2 s full pass re-reads and
  parses every claimed ticket (5,000 here) for the reaper and lists every worker directory.
- Fixes (daemon area): (1) watch the few directories with plain \`fs.watch\` (inotify; the event carries the file
  name) and keep chokidar only for \`--poll\`: the bare fs.watch echo is ${ratio(fsWatch)} of chokidar's latency here;
  (2) pass the file name from the event so a completion cascades just that parent (full passes still catch
  anything missed); (3) reaper: remember each claimed file's inode and lease expiry and re-read only files whose
  inode changed.
`;
}
