/**
 * Profiling aid (not part of the report): one ticketq lifecycle in this process, phases timed.
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof bench/dist/profile-lifecycle.js 2000 16 none
 *   strace -f -c -o /tmp/strace.txt node bench/dist/profile-lifecycle.js 2000 16 none
 */
import { addTickets, claimTicket, createRun, itemsOf, submitTicket } from './ticketq.js';
import { nodeFs, type Fs } from '../../dist/index.js';
import { OUTPUT, payloadItems } from './payload.js';
import { runLimited } from './run-limited.js';
import { makeTempDir, removeDir } from './temp-dir.js';
import { syncFs } from './sync-fs.js';

const n = Number(process.argv[2] ?? 2000);
const concurrency = Number(process.argv[3] ?? 16);
const durability = process.argv[4] === 'full' ? 'full' : 'none';
const phase = process.argv[5] ?? 'all';
const useSync = process.argv.includes('--sync-fs');
/** Fs calls made, by method (--count): each async one is at least one thread-pool round trip. */
const calls = new Map<string, number>();
/** Wall time spent in each Fs method, in ms (includes waiting for the thread pool). */
const spent = new Map<string, number>();
function counting(base: Fs): Fs {
  const out: Record<string, unknown> = {};
  for (const [k, fn] of Object.entries(base) as [string, (...a: unknown[]) => unknown][]) {
    out[k] = async (...a: unknown[]) => {
      calls.set(k, (calls.get(k) ?? 0) + 1);
      const t = performance.now();
      try {
        return await fn(...a);
      } finally {
        spent.set(k, (spent.get(k) ?? 0) + performance.now() - t);
      }
    };
  }
  return out as unknown as Fs;
}
const fsImpl: Fs | undefined = process.argv.includes('--count') ? counting(useSync ? syncFs : nodeFs) : useSync ? syncFs : undefined;
const perTicket = (): string => [...calls].map(([k, v]) => `${k} ${(v / n).toFixed(2)} (avg ${((spent.get(k) ?? 0) / v).toFixed(2)} ms)`).join(', ');

const root = await makeTempDir('profile');
try {
  const ctx = await createRun(root, 'p', { pipeline: { stages: { work: {} }, cascade: [] }, durability, ...(fsImpl ? { fs: fsImpl } : {}) });
  calls.clear();
  let t = performance.now();
  let cpu = process.cpuUsage();
  await addTickets(ctx, 'work', itemsOf(payloadItems(n)));
  const createMs = performance.now() - t;
  const createCpu = process.cpuUsage(cpu);
  const createCalls = perTicket();
  calls.clear();
  spent.clear();
  t = performance.now();
  cpu = process.cpuUsage();
  let claimMs = 0;
  let submitMs = 0;
  if (phase !== 'create') {
    await runLimited(concurrency, concurrency, async (lane) => {
      for (;;) {
        let x = performance.now();
        const c = await claimTicket(ctx, { stage: 'work', workerId: `w${lane}` });
        claimMs += performance.now() - x;
        if (!c) return;
        x = performance.now();
        await submitTicket(ctx, { ticketId: c.ticket.ticket_id, workerId: `w${lane}`, output: { ...OUTPUT }, ...(c.ticket.claim ? { token: c.ticket.claim.token } : {}) });
        submitMs += performance.now() - x;
      }
    });
  }
  const processMs = performance.now() - t;
  const processCpu = process.cpuUsage(cpu);
  /** CPU time (user + system) per ticket, in µs: what the code and its syscalls cost, whatever the machine's load. */
  const cpuPer = (u: NodeJS.CpuUsage): string => `${((u.user + u.system) / n).toFixed(0)} µs CPU/ticket (user ${(u.user / n).toFixed(0)}, sys ${(u.system / n).toFixed(0)})`;
  process.stdout.write(
    `${n} tickets, concurrency ${concurrency}, durability ${durability}${useSync ? ', sync fs' : ''}: create ${createMs.toFixed(0)} ms (${((createMs / n) * 1000).toFixed(0)} µs/ticket), ` +
      (calls.size > 0 || createCalls ? `  Fs calls per ticket: create {${createCalls}}; claim+submit {${perTicket()}}\n  ` : '') +
      `claim+submit ${processMs.toFixed(0)} ms (${((processMs / n) * 1000).toFixed(0)} µs/ticket; summed claim ${(claimMs / n).toFixed(2)} ms, submit ${(submitMs / n).toFixed(2)} ms per ticket across lanes)\n` +
      `  CPU: create ${cpuPer(createCpu)}; claim+submit ${cpuPer(processCpu)}\n`,
  );
} finally {
  await removeDir(root);
}
