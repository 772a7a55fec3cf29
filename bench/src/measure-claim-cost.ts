import { mkdirSync, opendirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchOptions } from './bench-options.js';
import { startChild, type Child } from './child-rpc.js';
import { makeBigRun } from './make-big-run.js';
import { ratioRow, type Figure, type Row } from './report.js';
import { median, percentile } from './stats.js';
import { makeTempDir, removeDir } from './temp-dir.js';

const WARMUP = 10;
const ROUNDS = 4;

function latencies(m: Record<string, unknown>): number[] {
  const v = m.latencies;
  return Array.isArray(v) ? v.filter((x): x is number => typeof x === 'number') : [];
}

/** Move `count` pending tickets out of the way in directory order, the way claimers drain a stage. */
function drainFront(pendingDir: string, outDir: string, count: number): void {
  mkdirSync(outDir, { recursive: true });
  const names: string[] = [];
  const dir = opendirSync(pendingDir, { bufferSize: 1024 });
  for (let e = dir.readSync(); e !== null && names.length < count; e = dir.readSync()) names.push(e.name);
  dir.closeSync();
  for (const n of names) renameSync(join(pendingDir, n), join(outDir, n));
}

/**
 * Figure 4: one claim (library API, durability 'none', in a warm process) with a small and a
 * huge backlog in the same stage; then 16 claimer processes at once.
 */
export async function measureClaimCost(opts: BenchOptions, log: (l: string) => void): Promise<Figure> {
  const [small, large] = opts.claimBacklogs;
  const s = opts.claimSamples;
  const per = Math.max(4, Math.ceil(s / opts.claimers));
  // Why: each run holds its nominal backlog plus every ticket the test will claim, so the backlog never drops below nominal.
  const extra = s + WARMUP * 2 + per * opts.claimers + opts.claimers * WARMUP;
  const root = await makeTempDir('claim');
  const children: Child[] = [];
  try {
    log(`  making runs with ${small.toLocaleString('en-US')} and ${large.toLocaleString('en-US')} pending tickets...`);
    // Why no registry: claim never reads it, and it halves the time to write a million tickets.
    await makeBigRun({ root, runId: 'small', tickets: small + extra, completed: 0, claimed: 0, workers: 1, registry: false }, log);
    await makeBigRun({ root, runId: 'large', tickets: large + extra, completed: 0, claimed: 0, workers: 1, registry: false }, log);
    const one = async (runId: string): Promise<Child> => {
      const c = await startChild('claim-worker');
      children.push(c);
      await c.call({ cmd: 'open', root, runId, worker: 'solo' });
      await c.call({ cmd: 'claim', count: WARMUP });
      return c;
    };
    const soloSmall = await one('small');
    const soloLarge = await one('large');
    const lat: Record<string, number[]> = { small: [], large: [] };
    for (let r = 0; r < ROUNDS; r += 1) {
      lat.small?.push(...latencies(await soloSmall.call({ cmd: 'claim', count: Math.ceil(s / ROUNDS) })));
      lat.large?.push(...latencies(await soloLarge.call({ cmd: 'claim', count: Math.ceil(s / ROUNDS) })));
    }
    const crowd = async (runId: string, cmd = 'claim'): Promise<{ lat: number[]; perSec: number }> => {
      const cs: Child[] = [];
      for (let i = 0; i < opts.claimers; i += 1) {
        const c = await startChild('claim-worker');
        children.push(c);
        cs.push(c);
        await c.call({ cmd: 'open', root, runId, worker: `crowd-${i}` });
        await c.call({ cmd: 'claim', count: 2 });
      }
      const t = performance.now();
      const replies = await Promise.all(cs.map((c) => c.call({ cmd, count: per })));
      const wall = performance.now() - t;
      return { lat: replies.flatMap(latencies), perSec: ((per * opts.claimers) / wall) * 1000 };
    };
    const crowdSmall = await crowd('small');
    const crowdLarge = await crowd('large');
    const rawCrowd = await crowd('large', 'raw-claim');
    const soloPerSec = (xs: number[]): number => 1000 / median(xs);
    log(`  claim p50 small ${median(lat.small ?? []).toFixed(3)} ms, large ${median(lat.large ?? []).toFixed(3)} ms`);
    const lbl = (n: number): string => n.toLocaleString('en-US');
    const rows: Row[] = [
      ratioRow(`claim p50, ${lbl(large)} pending`, median(lat.large ?? []), 'ms', `claim p50, ${lbl(small)} pending`, median(lat.small ?? []), { text: '≤ 1.2× at 1k', on: 'ratio', op: '<=', bound: 1.2 }),
      ratioRow(`claim p99, ${lbl(large)} pending`, percentile(lat.large ?? [], 99), 'ms', `claim p99, ${lbl(small)} pending`, percentile(lat.small ?? [], 99)),
      ratioRow(`${opts.claimers} claimers, p50 latency, ${lbl(small)} pending`, median(crowdSmall.lat), 'ms', '1 claimer', median(lat.small ?? [])),
      ratioRow(`${opts.claimers} claimers, p50 latency, ${lbl(large)} pending`, median(crowdLarge.lat), 'ms', '1 claimer', median(lat.large ?? [])),
      ratioRow(`${opts.claimers} claimers, p99 latency, ${lbl(large)} pending`, percentile(crowdLarge.lat, 99), 'ms', '1 claimer p99', percentile(lat.large ?? [], 99)),
      ratioRow(`${opts.claimers} claimers, claims/s, ${lbl(small)} pending`, crowdSmall.perSec, 'claims/s', '1 claimer', soloPerSec(lat.small ?? [])),
      ratioRow(`${opts.claimers} claimers, claims/s, ${lbl(large)} pending`, crowdLarge.perSec, 'claims/s', '1 claimer', soloPerSec(lat.large ?? [])),
      ratioRow(`${opts.claimers} claimers, claims/s, ${lbl(large)} pending`, crowdLarge.perSec, 'claims/s', `${opts.claimers} raw claimers (readdir + rename only)`, rawCrowd.perSec),
    ];
    // What a stage looks like after a long drain: the front of the directory is empty space.
    await Promise.all(children.splice(0).map((c) => c.stop()));
    const half = Math.floor(large / 2);
    log(`  draining ${lbl(half)} tickets from the front of the large backlog...`);
    drainFront(join(root, 'large', 'pending', 'work'), join(root, 'drained'), half);
    const drained = await one('large');
    const lat2: number[] = [];
    for (let r = 0; r < ROUNDS; r += 1) lat2.push(...latencies(await drained.call({ cmd: 'claim', count: Math.ceil(s / ROUNDS / 2) })));
    rows.push(ratioRow(`claim p50, ${lbl(large)} backlog after ${lbl(half)} were claimed`, median(lat2), 'ms', `claim p50, ${lbl(small)} pending`, median(lat.small ?? []), undefined, 'the drained front of the directory'));
    return {
      id: '4',
      title: '4. Claim cost vs backlog',
      description: `One \`claimTicket()\` (library API, durability 'none', warm process), ${s} claims per backlog in ${ROUNDS} interleaved rounds; then ${opts.claimers} claimer processes claiming ${per} tickets each at the same moment (2 cores: 16 claimers queue for the CPU, so compare claims/s, not latency). Each run holds its nominal backlog plus the tickets the test claims (written with bare fs calls, without registry entries: claim never reads them). The raw claimers do only what the claim protocol cannot avoid (read 64 names, shuffle, rename), as a floor for the crowd.`,
      rows,
      notes: [],
    };
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    await removeDir(root);
  }
}
