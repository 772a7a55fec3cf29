import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchOptions } from './bench-options.js';
import { makeBigRun } from './make-big-run.js';
import { ratioRow, type Figure, type Row } from './report.js';
import { checkOk, timeNode } from './spawn-timed.js';
import { median } from './stats.js';
import { makeTempDir, removeDir } from './temp-dir.js';
import { listTickets, runStatus, TQ_BIN } from './ticketq.js';

const TARGET = { text: '≤ 2× bare readdir', on: 'ratio', op: '<=', bound: 2 } as const;

/**
 * The bare baseline: a node process that readdirs exactly the directories `tq status`/`tq list`
 * read and counts (status) or prints (list) the ticket names. No parsing of run.json, no sorting.
 */
function bareScript(runDir: string, print: boolean): string {
  return `
const fs = require('fs'); const p = require('path');
const run = ${JSON.stringify(runDir)};
const ls = (d) => { try { return fs.readdirSync(d); } catch { return []; } };
const out = [];
let n = 0;
for (const s of ['pending', 'completed', 'failed', 'needs_review']) for (const f of ls(p.join(run, s, 'work'))) { n++; ${print ? 'out.push(s + " " + f);' : ''} }
for (const w of ls(p.join(run, 'claimed'))) for (const f of ls(p.join(run, 'claimed', w))) { n++; ${print ? 'out.push("claimed " + w + " " + f);' : ''} }
for (const d of ['moving', 'rejected', 'quarantine']) n += ls(p.join(run, d)).length;
${print ? "process.stdout.write(out.join('\\n') + '\\n');" : 'process.stdout.write(n + "\\n");'}
`;
}

function bareInProcess(runDir: string): number {
  const ls = (d: string): string[] => {
    try {
      return readdirSync(d);
    } catch {
      return [];
    }
  };
  let n = 0;
  for (const s of ['pending', 'completed', 'failed', 'needs_review']) n += ls(join(runDir, s, 'work')).length;
  for (const w of ls(join(runDir, 'claimed'))) n += ls(join(runDir, 'claimed', w)).length;
  return n;
}

export async function measureListing(opts: BenchOptions, log: (l: string) => void): Promise<Figure> {
  const rows: Row[] = [];
  const notes: string[] = [];
  for (const size of opts.listingSizes) {
    const root = await makeTempDir(`list${size}`);
    try {
      const label = size.toLocaleString('en-US');
      log(`  making a run of ${label} tickets...`);
      const t0 = performance.now();
      // Why no registry: neither tq status nor tq list reads it, and it halves the time to write a million tickets.
      const ctx = await makeBigRun({ root, runId: 'big', tickets: size, completed: 0.25, claimed: 0.05, workers: 16, registry: false }, log);
      notes.push(`${label}-ticket run (70% pending, 25% completed, 5% claimed by 16 workers; no registry entries, which neither command reads) written in ${Math.round((performance.now() - t0) / 1000)} s with bare fs calls.`);
      const runDir = ctx.paths.dir;
      const t: Record<string, number[]> = { status: [], list: [], bareCount: [], barePrint: [], libStatus: [], libList: [], bareLib: [] };
      for (let r = -1; r < opts.listingRounds; r += 1) {
        const status = checkOk(timeNode([TQ_BIN, '--root', root, 'status', 'big'], { discardStdout: true }), 'tq status');
        const bareCount = checkOk(timeNode(['-e', bareScript(runDir, false)], { discardStdout: true }), 'bare readdir');
        const list = checkOk(timeNode([TQ_BIN, '--root', root, 'list', 'big'], { discardStdout: true }), 'tq list');
        const barePrint = checkOk(timeNode(['-e', bareScript(runDir, true)], { discardStdout: true }), 'bare readdir + print');
        let x = performance.now();
        const st = await runStatus(ctx);
        const libStatus = performance.now() - x;
        x = performance.now();
        const listed = await listTickets(ctx);
        const libList = performance.now() - x;
        x = performance.now();
        const bareN = bareInProcess(runDir);
        const bareLib = performance.now() - x;
        if (st.totals.all !== size || listed.length !== size || bareN !== size) throw new Error(`listing counted ${st.totals.all}/${listed.length}/${bareN}, expected ${size}`);
        if (r < 0) continue;
        t.status?.push(status.ms);
        t.list?.push(list.ms);
        t.bareCount?.push(bareCount.ms);
        t.barePrint?.push(barePrint.ms);
        t.libStatus?.push(libStatus);
        t.libList?.push(libList);
        t.bareLib?.push(bareLib);
      }
      const m = (k: string): number => median(t[k] ?? []);
      rows.push(ratioRow(`tq status, ${label} tickets`, m('status'), 'ms', 'node + bare readdir, count', m('bareCount'), TARGET));
      rows.push(ratioRow(`tq list, ${label} tickets`, m('list'), 'ms', 'node + bare readdir, print names', m('barePrint'), TARGET));
      rows.push(ratioRow(`library runStatus(), ${label} tickets`, m('libStatus'), 'ms', 'readdirSync in-process', m('bareLib'), undefined, 'in-process, no start-up'));
      rows.push(ratioRow(`library listTickets(), ${label} tickets`, m('libList'), 'ms', 'readdirSync in-process', m('bareLib'), undefined, 'in-process, no start-up'));
    } finally {
      await removeDir(root);
    }
  }
  return {
    id: '3',
    title: '3. Listing at scale',
    description: `\`tq status\` and \`tq list\` (text output to /dev/null), spawn to exit, median of ${opts.listingRounds} rounds, ÷ a node process doing a bare readdirSync of the same directories (counting, or printing the names). The library rows time runStatus()/listTickets() in-process against in-process readdirSync, without process start-up.`,
    rows,
    notes,
  };
}
