import { readFileSync } from 'node:fs';

/** Clock ticks per second for /proc/<pid>/stat (USER_HZ; 100 on Linux). */
const HZ = 100;

export interface ProcSample {
  at: number;
  cpuSeconds: number;
  rssMb: number;
  peakRssMb: number;
}

/** CPU time used so far (user + system) and resident memory of a live process, from /proc. */
export function sampleProc(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Why: the command name (field 2) may contain spaces; fields are counted after its ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { at: performance.now(), cpuSeconds: (utime + stime) / HZ, rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 };
}

/** CPU use between two samples, in percent of one core. */
export function cpuPercent(a: ProcSample, b: ProcSample): number {
  return ((b.cpuSeconds - a.cpuSeconds) / ((b.at - a.at) / 1000)) * 100;
}

export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Wait until the process uses less than `percent` of a core over `windowMs`, or `timeoutMs` passes. */
export async function waitUntilQuiet(pid: number, percent: number, windowMs: number, timeoutMs: number): Promise<{ quiet: boolean; ms: number }> {
  const start = performance.now();
  let prev = sampleProc(pid);
  for (;;) {
    await delay(windowMs);
    const cur = sampleProc(pid);
    if (cpuPercent(prev, cur) < percent) return { quiet: true, ms: performance.now() - start };
    if (performance.now() - start > timeoutMs) return { quiet: false, ms: performance.now() - start };
    prev = cur;
  }
}
