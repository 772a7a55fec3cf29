/**
 * The lifecycle part of the analysis (figure 1), written from this run's numbers: every
 * statement below is computed or chosen from the measurements, none is a constant claim.
 */
import type { Figure, Report } from './report.js';
import { CREATE, CREATE_AFTER_UNLINKS, RENAME } from './measure-fs-ops.js';
import { verdict } from './report.js';

const FS_NAMES: Record<string, string> = { disk: 'the project disk', ext4j: 'the journaled ext4 (loop device)', tmpfs: 'tmpfs' };

const n0 = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? 'n/a' : Math.round(x).toLocaleString('en-US'));
const r2 = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? 'n/a' : `${x.toFixed(2)}×`);

function table(fig: Figure, name: string): Record<string, number> {
  return fig.data?.[name] ?? {};
}

/** One paragraph per filesystem: ticketq against the honest floor in rate and in CPU. */
function perFilesystem(fig: Figure, fsKey: string): string | undefined {
  const ops = table(fig, `ops/${fsKey}`);
  const cpu = table(fig, `cpu/${fsKey}`);
  if (ops.tq1 === undefined || ops.honest1 === undefined) return undefined;
  const tqCpu = cpu.tq1 ?? Number.NaN;
  const floorCpu = cpu.honest1 ?? Number.NaN;
  const above = Number.isFinite(tqCpu) && Number.isFinite(floorCpu) && tqCpu > 0 ? ((tqCpu - floorCpu) / tqCpu) * 100 : Number.NaN;
  let s = `- On ${FS_NAMES[fsKey] ?? fsKey}: ticketq (1 process) ${n0(ops.tq1)} tickets/s = ${r2(ops.tq1 / ops.honest1)} of the honest floor (${n0(ops.honest1)}); ` +
    `CPU ${n0(tqCpu)} µs per ticket against the floor's ${n0(floorCpu)} µs`;
  if (Number.isFinite(above)) s += above > 0 ? `, so ${Math.round(above)}% of ticketq's CPU goes to what the floor does not do (its code, and file operations beyond the floor's 2 creations, 2 renames, 1 read and 1 unlink)` : ', no more than the floor';
  if (ops.proto1 !== undefined && cpu.proto1 !== undefined && Number.isFinite(tqCpu)) {
    const codeShare = ((tqCpu - cpu.proto1) / tqCpu) * 100;
    s += `. Today's protocol's file operations alone (no code) cost ${n0(cpu.proto1)} µs of CPU per ticket and ran at ${n0(ops.proto1)} tickets/s`;
    s += codeShare > 0 ? `, so its file operations are ${Math.round(100 - codeShare)}% of ticketq's CPU and its code ${Math.round(codeShare)}%` : ', no less than ticketq itself';
    if (ops.bullmq !== undefined) s += `; those operations alone reach ${r2(ops.proto1 / ops.bullmq)} of BullMQ (no persistence)`;
  }
  if (ops.lease1 !== undefined && cpu.lease1 !== undefined) {
    s += `. The lease-file design (claim without a rewrite), as bare operations, ran at ${n0(ops.lease1)} tickets/s with ${n0(cpu.lease1)} µs of CPU per ticket`;
    if (ops.bullmq !== undefined) s += ` = ${r2(ops.lease1 / ops.bullmq)} of BullMQ`;
    s += ` and ${r2(ops.lease1 / ops.honest1)} of the honest floor: the most a file-per-ticket design with those operations reaches here before any code`;
  }
  return `${s}.`;
}

/** What creating a file costs against a rename on each filesystem, and after deletions. */
function fileCosts(fig: Figure, keys: string[]): string {
  const lines: string[] = [];
  for (const k of keys) {
    const f = table(fig, `fsops/${k}`);
    const create = f[CREATE];
    const rename = f[RENAME];
    const after = f[CREATE_AFTER_UNLINKS];
    if (create === undefined || rename === undefined) continue;
    lines.push(`${FS_NAMES[k] ?? k}: a creation costs ${r2(create / rename)} a rename in a fresh directory${after !== undefined ? `, ${r2(after / rename)} right after as many unlinks (${n0(after)} µs)` : ''}`);
  }
  return lines.length > 0 ? `Measured right after the rounds (the table under figure 1): ${lines.join('; ')}.` : '';
}

function recentlyDeleted(fig: Figure, diskLabel: string): string {
  const f = table(fig, 'fsops/disk');
  const fresh = f[CREATE];
  const after = f[CREATE_AFTER_UNLINKS];
  const noJournal = /no journal/.test(diskLabel);
  const ratio = fresh !== undefined && after !== undefined ? after / fresh : Number.NaN;
  const probe = !Number.isFinite(ratio)
    ? ''
    : ratio >= 1.5
      ? ` On the project disk in this run, a creation right after unlinking as many files cost ${n0(after)} µs against ${n0(fresh)} µs in a fresh directory (${r2(ratio)}).`
      : ` The small probe of this run (a creation right after unlinking a few thousand files: ${n0(after)} µs against ${n0(fresh)} µs fresh on the project disk) is too small to show it; the issue measured 0.7–4.8 ms per creation after whole rounds of deletions.`;
  return (
    `Earlier reports explained the cost of creating a file on this machine by ext4 block groups ("creation costs 24× a rename") and concluded, from ticketq at 1.10× its protocol floor, that "the code costs nothing measurable". Neither holds. ` +
    `${noJournal ? 'The project disk is ext4 without a journal, where' : 'On ext4 without a journal (the project disk was that when the issue was filed),'} the inode allocator skips inodes freed in the last minutes (\`recently_deleted()\` in fs/ext4/ialloc.c), so creating files right after many deletions costs far more than creating them otherwise; ` +
    `the old harness deleted each system's directory right before the next system's round, so later systems paid for earlier ones' deletions, and a protocol that frees inodes (the pre-issue-16 protocol freed 2 per ticket) slows its own later creations.${probe} ` +
    'This harness deletes nothing on a filesystem until every round on it is done, and runs the same rounds on tmpfs and on a journaled ext4, where that penalty does not exist. ' +
    'The protocol floor only replayed file operations; the CPU column shows what the code adds on top of them.'
  );
}

/** The equal-durability verdicts, one line per filesystem. */
function verdicts(fig: Figure): string {
  const out: string[] = [];
  for (const [prefix, name] of [['[disk]', 'project disk'], ['[ext4+journal]', 'journaled ext4'], ['[tmpfs]', 'tmpfs']] as const) {
    const rows = fig.rows.filter((r) => r.label.startsWith(prefix) && r.target);
    if (rows.length === 0) continue;
    const met = rows.filter((r) => verdict(r) === 'met').length;
    const missed = rows.filter((r) => verdict(r) === 'missed').map((r) => `${r.label.slice(prefix.length + 1)} vs ${r.baselineLabel ?? ''} ${r2(r.ratio)}`);
    const unmeasured = rows.filter((r) => verdict(r) === '').length;
    out.push(`- ${name}: ${met} of ${rows.length - unmeasured} measured targets met${missed.length > 0 ? `; missed: ${missed.join(', ')}` : ''}${unmeasured > 0 ? `; ${unmeasured} not measured (see the table)` : ''}.`);
  }
  return out.join('\n');
}

export function renderLifecycleAnalysis(report: Report): string {
  const fig = report.figures.find((f) => f.id === '1');
  if (!fig) return '### Lifecycle (figure 1)\n\nFigure 1 was not measured in this run.\n';
  if (!fig.data) {
    return '### Lifecycle (figure 1)\n\nFigure 1 of this report was measured by an earlier harness (one filesystem, each system\'s directory deleted right before the next system\'s round, peers at other durabilities than ticketq), so its numbers are not analysed here. Its earlier conclusions — "creation costs 24× a rename (ext4 block groups)" and "1.10× the protocol floor: the code costs nothing measurable" — did not hold (issue 16): the project disk is ext4 without a journal, where creations right after many deletions are slow (`recently_deleted()`), and ticketq\'s code was about half of its CPU. Run `npm run bench` (or `-- --only 1,2` and `--merge`) for the current figure.\n';
  }
  const keys = ['disk', 'ext4j', 'tmpfs'].filter((k) => fig.data?.[`ops/${k}`] !== undefined);
  const diskLabel = /project disk \(([^)]*)\)/.exec(fig.description)?.[0] ?? '';
  const paras = keys.map((k) => perFilesystem(fig, k)).filter((p): p is string => p !== undefined);
  return `### Lifecycle (figure 1): what the measurements say

Targets at equal durability, by filesystem:

${verdicts(fig)}

Where ticketq's time goes, against the honest floor (the creations a ticket must make, no code):

${paras.join('\n')}

${fileCosts(fig, keys)}

${recentlyDeleted(fig, diskLabel)}
`;
}
