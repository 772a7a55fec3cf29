/**
 * Throughput per filesystem (issue 15 "Done when"): tickets per second through the library,
 * create -> claim -> submit, with 2 and 8 workers (each a separate process, half on each client
 * mount), on local disk, sshfs (two mounts) and GlusterFS (two mounts). Every ratio divides two
 * numbers from the same run. Writes the "Across machines" section of docs/benchmarks.md (between
 * its markers) unless --no-write. Run with `node scripts/multihost/measure-throughput.mjs`.
 *
 * Why it reuses test/helpers/multihost/: one set-up code for the tests and the bench, so the
 * figures are for the mounts (and mount options) the tests prove correct.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { addTickets, itemsOf } from '../../src/core/ops/add-tickets.js';
import { createRun } from '../../src/core/ops/create-run.js';
import { claimCounts, runRace, type RaceWorker } from '../../test/helpers/multihost/claim-submit-race.js';
import { setUpGlusterHosts } from '../../test/helpers/multihost/gluster-hosts.js';
import { setUpSshfsHosts } from '../../test/helpers/multihost/sshfs-hosts.js';
import type { HostsOrSkip } from '../../test/helpers/multihost/two-hosts.js';

const WORKER_COUNTS = [2, 8] as const;
const BEGIN = '<!-- multihost-throughput:begin -->';
const END = '<!-- multihost-throughput:end -->';

interface Row {
  fs: string;
  workers: number;
  tickets: number;
  createPerS: number;
  claimSubmitPerS: number;
  endToEndPerS: number;
}

interface Options {
  tickets: Record<string, number>;
  write: boolean;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { tickets: { local: 3000, sshfs: 1000, glusterfs: 1000 }, write: true };
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    if (a === '--no-write') opts.write = false;
    else if (a === '--quick') opts.tickets = { local: 200, sshfs: 60, glusterfs: 60 };
    else if (a?.startsWith('--tickets-')) opts.tickets[a.slice('--tickets-'.length)] = Number(argv[(i += 1)]);
    else throw new Error(`unknown option ${a}; options: --quick, --tickets-local N, --tickets-sshfs N, --tickets-glusterfs N, --no-write`);
  }
  return opts;
}

/** Local disk as "two hosts": both roots are the same directory. */
async function localHosts(): Promise<HostsOrSkip> {
  const dir = await mkdtemp(join(tmpdir(), 'tq-tp-local-'));
  return { hosts: { kind: 'sshfs', a: dir, b: dir, what: `local disk (${dir})`, setUpMs: 0, tearDown: () => rm(dir, { recursive: true, force: true }) } };
}

/** One measurement: create `tickets` through mount A, then `workers` processes claim and submit them all. */
async function measure(fs: string, a: string, b: string, workers: number, tickets: number): Promise<Row> {
  const runId = `tp-${workers}`;
  const ctx = await createRun(join(a, 'runs'), runId, { pipeline: { stages: { work: { lease: '10m' } } }, durability: 'none' });
  const t0 = performance.now();
  const created = await addTickets(ctx, 'work', itemsOf(Array.from({ length: tickets }, (_, i) => ({ n: i }))));
  const createMs = performance.now() - t0;
  const race: RaceWorker[] = Array.from({ length: workers }, (_, i) => ({ worker: `w${i}`, root: join(i < workers / 2 ? a : b, 'runs'), via: 'library' }));
  const { outcomes, wallMs } = await runRace(race, runId, 'work');
  const counts = claimCounts(outcomes);
  const bad = outcomes.filter((o) => o.code !== 0 || o.errors.length > 0);
  const dup = [...counts.values()].filter((n) => n > 1).length;
  const lost = created.ticket_ids.filter((id) => !counts.has(id)).length;
  // Why fail: a figure from a run that lost or duplicated tickets measures nothing.
  if (bad.length > 0 || dup > 0 || lost > 0) throw new Error(`${fs} ${workers} workers: ${bad.length} workers failed, ${dup} duplicates, ${lost} lost: ${bad.map((o) => `${o.worker}: ${o.errors[0] ?? o.stderr.slice(0, 300)}`).join('; ')}`);
  const row = { fs, workers, tickets, createPerS: tickets / (createMs / 1000), claimSubmitPerS: tickets / (wallMs / 1000), endToEndPerS: tickets / ((createMs + wallMs) / 1000) };
  process.stderr.write(`throughput: ${fs}, ${workers} workers, ${tickets} tickets: create ${row.createPerS.toFixed(0)}/s, claim+submit ${row.claimSubmitPerS.toFixed(0)}/s\n`);
  return row;
}

interface Fs {
  name: string;
  setUp: () => Promise<HostsOrSkip>;
  tickets: number;
}

/**
 * Set every filesystem up, then measure each worker count on all of them back to back (local disk
 * first). Why interleaved: the machine is shared, so its load drifts over minutes; a ratio is
 * only as good as the two numbers it divides were taken close together.
 */
async function measureAll(filesystems: Fs[]): Promise<{ rows: Row[]; whats: string[] }> {
  const ready: { fs: Fs; a: string; b: string }[] = [];
  const whats: string[] = [];
  const tearDowns: (() => Promise<void>)[] = [];
  try {
    for (const fs of filesystems) {
      const s = await fs.setUp();
      if (s.hosts === undefined) {
        process.stderr.write(`throughput: ${fs.name} SKIPPED: ${s.skip}\n`);
        whats.push(`${fs.name}: skipped (${s.skip})`);
        continue;
      }
      tearDowns.push(s.hosts.tearDown);
      ready.push({ fs, a: s.hosts.a, b: s.hosts.b });
      whats.push(s.hosts.what);
    }
    const rows: Row[] = [];
    for (const w of WORKER_COUNTS) for (const r of ready) rows.push(await measure(r.fs.name, r.a, r.b, w, r.fs.tickets));
    return { rows: rows.sort((x, y) => filesystems.findIndex((f) => f.name === x.fs) - filesystems.findIndex((f) => f.name === y.fs) || x.workers - y.workers), whats };
  } finally {
    for (const t of tearDowns.reverse()) await t();
  }
}

function fmt(n: number): string {
  return n >= 100 ? n.toFixed(0) : n.toFixed(1);
}

function renderSection(rows: Row[], whats: string[], startedAt: Date, seconds: number, load: number[], loadAfter: number[]): string {
  const local = new Map(rows.filter((r) => r.fs === 'local disk').map((r) => [r.workers, r]));
  const ratio = (r: Row, k: 'createPerS' | 'claimSubmitPerS' | 'endToEndPerS'): string => {
    const l = local.get(r.workers);
    return l ? `${(r[k] / l[k]).toFixed(2)}×` : 'n/a';
  };
  const lines = [
    BEGIN,
    '## Across machines (network filesystems)',
    '',
    `Measured by \`node scripts/multihost/measure-throughput.mjs\` on ${startedAt.toISOString()} (${seconds.toFixed(0)} s).`,
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(1)} GB, Node ${process.version}; load average before ${load.map((l) => l.toFixed(2)).join(' / ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' / ')}.`,
    '',
    'One run shared by two client mounts of one export on this machine (each mount plays a host; the mounts and',
    'their options are those of `npm run test:multihost`). The tickets are created through mount A by one process',
    '(`addTickets`), then every worker, a separate process using the library, claims and submits until nothing is',
    'left (`claimTicket` then `submitTicket`), half of the workers on each mount; durability `none`. Each worker count',
    'is measured on the three filesystems back to back (the mounts are all set up first). Every run ends',
    'with each ticket claimed exactly once (checked). Ratios divide by local disk with the same number of workers,',
    'measured in the same run. One round each, on a machine shared with other jobs (see the load average): read the',
    'ratios, not the absolute numbers. A claim and a submit are many metadata calls (listings, renames, links, reads),',
    'each a round trip to the file server on these mounts (sshfs: sftp over ssh; GlusterFS: the brick process).',
    '',
    '| filesystem | workers | tickets | create (tickets/s) | claim → submit (tickets/s) | create → claim → submit (tickets/s) | vs local disk (claim → submit) | vs local disk (end to end) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.fs} | ${r.workers} | ${r.tickets} | ${fmt(r.createPerS)} | ${fmt(r.claimSubmitPerS)} | ${fmt(r.endToEndPerS)} | ${ratio(r, 'claimSubmitPerS')} | ${ratio(r, 'endToEndPerS')} |`),
    '',
    ...whats.map((w) => `- ${w}`),
    END,
  ];
  return `${lines.join('\n')}\n`;
}

/** Put the section into docs/benchmarks.md: replace the previous one, or append it. */
async function writeSection(section: string): Promise<void> {
  // Why the working directory: the runner (measure-throughput.mjs) starts this in the repository root.
  const path = join(process.cwd(), 'docs', 'benchmarks.md');
  const doc = await readFile(path, 'utf8');
  const b = doc.indexOf(BEGIN);
  const e = doc.indexOf(END);
  const next = b >= 0 && e > b ? `${doc.slice(0, b)}${section}${doc.slice(e + END.length + 1)}` : `${doc.trimEnd()}\n\n${section}`;
  await writeFile(path, next);
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const startedAt = new Date();
  const load = loadavg();
  const t0 = performance.now();
  const { rows, whats } = await measureAll([
    { name: 'local disk', setUp: localHosts, tickets: opts.tickets.local ?? 3000 },
    { name: 'sshfs', setUp: setUpSshfsHosts, tickets: opts.tickets.sshfs ?? 1000 },
    { name: 'glusterfs', setUp: setUpGlusterHosts, tickets: opts.tickets.glusterfs ?? 1000 },
  ]);
  const section = renderSection(rows, whats, startedAt, (performance.now() - t0) / 1000, load, loadavg());
  process.stdout.write(section);
  if (opts.write) await writeSection(section);
}

await main();
