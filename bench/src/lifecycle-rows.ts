/** Figure 1's rows (equal-durability comparisons, per filesystem) and its all-systems table. */
import type { BenchFilesystem } from './bench-filesystems.js';
import { SYSTEMS, systemOf } from './lifecycle-systems.js';
import { ratioRow, skippedRow, type Row, type Target } from './report.js';
import { median } from './stats.js';

export interface Sample {
  opsPerSec: number;
  createMs: number;
  processMs: number;
  /** User + system CPU of every process of the system (Redis included), µs per ticket. */
  cpuUsPerTicket: number;
}

/** Keyed by "<filesystem>/<system>". */
export type Samples = Map<string, Sample[]>;

const BULLMQ: Target = { text: '≥ 1× BullMQ', on: 'ratio', op: '>=', bound: 1 };
const PLAINJOB: Target = { text: '≥ 1.5× plainjob', on: 'ratio', op: '>=', bound: 1.5 };
const FLOOR: Target = { text: '≥ 0.7× honest floor', on: 'ratio', op: '>=', bound: 0.7 };

/** [compared, baseline, target?]: the comparisons figure 1 reports on every filesystem. */
const COMPARISONS: [string, string, Target?][] = [
  ['tq1', 'bullmq', BULLMQ],
  ['tq1', 'plainjob', PLAINJOB],
  ['tq2', 'bullmq', BULLMQ],
  ['tq1', 'honest1', FLOOR],
  ['tq2', 'honest2', FLOOR],
  ['tq1', 'raw1'],
  ['tq1', 'proto1'],
  ['tq1', 'lease1'],
  ['lease1', 'bullmq'],
  ['proto1', 'bullmq'],
  ['tqfull', 'bullmqaof', BULLMQ],
  ['tqfull', 'plainjobfull', PLAINJOB],
  ['tqfull', 'honestfsync'],
];

const SHORT: Record<BenchFilesystem['key'], string> = { disk: 'disk', ext4j: 'ext4+journal', tmpfs: 'tmpfs' };

function stat(samples: Samples, key: string, pick: (s: Sample) => number): number {
  return median((samples.get(key) ?? []).map(pick));
}

export function lifecycleRows(filesystems: BenchFilesystem[], samples: Samples, failures: Map<string, string>): Row[] {
  const rows: Row[] = [];
  for (const f of filesystems) {
    const p = `[${SHORT[f.key]}]`;
    for (const [a, b, target] of COMPARISONS) {
      const sa = systemOf(a);
      const sb = systemOf(b);
      const problem = f.problem ?? failures.get(`${f.key}/${a}`) ?? failures.get(`${f.key}/${b}`);
      const label = `${p} ${sa.label}`;
      if (problem || !samples.get(`${f.key}/${a}`)?.length || !samples.get(`${f.key}/${b}`)?.length) {
        rows.push({ ...skippedRow(label, `not run: ${problem ?? 'no samples'}`, target), baselineLabel: sb.label });
        continue;
      }
      const ops = (k: string): number => stat(samples, `${f.key}/${k}`, (s) => s.opsPerSec);
      const cpu = (k: string): number => stat(samples, `${f.key}/${k}`, (s) => s.cpuUsPerTicket);
      rows.push({ ...ratioRow(label, ops(a), 'tickets/s', sb.label, ops(b), target), cpu: cpu(a), baselineCpu: cpu(b) });
    }
  }
  return rows;
}

/** Every system's medians on every filesystem: tickets/s, CPU µs per ticket, and the phases. */
export function lifecycleTable(filesystems: BenchFilesystem[], samples: Samples, failures: Map<string, string>): string {
  const head = `| System | ${filesystems.map((f) => `${SHORT[f.key]}: tickets/s | CPU µs/ticket | create + claim/submit ms`).join(' | ')} |`;
  const sep = `| --- | ${filesystems.map(() => '---: | ---: | ---:').join(' | ')} |`;
  const lines = [head, sep];
  for (const sys of SYSTEMS) {
    const cells = filesystems.map((f) => {
      const key = `${f.key}/${sys.key}`;
      if (!samples.get(key)?.length) return `${f.problem || failures.has(key) ? 'not run' : '—'} | | `;
      const ms = (pick: (s: Sample) => number): string => Math.round(stat(samples, key, pick)).toLocaleString('en-US');
      return `${ms((s) => s.opsPerSec)} | ${ms((s) => s.cpuUsPerTicket)} | ${ms((s) => s.createMs)} + ${ms((s) => s.processMs)}`;
    });
    lines.push(`| ${sys.label}${sys.durability === 'full' ? ' †' : ''} | ${cells.join(' | ')} |`);
  }
  const why = [...failures].filter(([k]) => filesystems.some((f) => k.startsWith(`${f.key}/`)));
  const notes = why.length > 0 ? `\nNot run: ${[...new Set(why.map(([k, v]) => `${systemOf(k.split('/')[1] ?? '').label}: ${v}`))].join('; ')}.\n` : '';
  return `All systems (medians; † = durable, smaller ticket count):\n\n${lines.join('\n')}\n${notes}`;
}

/** µs per filesystem operation on each filesystem (measure-fs-ops.ts), measured after its rounds. */
export function fsOpsTable(filesystems: BenchFilesystem[], fsOps: Map<string, Map<string, number>>): string {
  const measured = filesystems.filter((f) => fsOps.has(f.key));
  if (measured.length === 0) return '';
  const ops = [...(fsOps.get(measured[0]?.key ?? '') ?? new Map<string, number>()).keys()];
  const lines = [`| operation, µs per call (synchronous, one after another) | ${measured.map((f) => SHORT[f.key]).join(' | ')} |`, `| --- | ${measured.map(() => '---:').join(' | ')} |`];
  for (const op of ops) lines.push(`| ${op} | ${measured.map((f) => (fsOps.get(f.key)?.get(op) ?? Number.NaN).toFixed(1)).join(' | ')} |`);
  return `What single file operations cost on each filesystem, measured right after its rounds (bench/src/measure-fs-ops.ts; \`node bench/dist/fs-op-costs.js\` runs it alone):\n\n${lines.join('\n')}\n`;
}

/** The medians and fs-op costs, for the analysis: "ops/<fs>", "cpu/<fs>" (by system key) and "fsops/<fs>" (by operation). */
export function lifecycleData(filesystems: BenchFilesystem[], samples: Samples, fsOps: Map<string, Map<string, number>>): Record<string, Record<string, number>> {
  const data: Record<string, Record<string, number>> = {};
  for (const f of filesystems) {
    const ops: Record<string, number> = {};
    const cpu: Record<string, number> = {};
    for (const sys of SYSTEMS) {
      const key = `${f.key}/${sys.key}`;
      if (!samples.get(key)?.length) continue;
      ops[sys.key] = stat(samples, key, (s) => s.opsPerSec);
      cpu[sys.key] = stat(samples, key, (s) => s.cpuUsPerTicket);
    }
    data[`ops/${f.key}`] = ops;
    data[`cpu/${f.key}`] = cpu;
    const costs = fsOps.get(f.key);
    if (costs) data[`fsops/${f.key}`] = Object.fromEntries(costs);
  }
  return data;
}
