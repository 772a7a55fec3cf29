import type { RunSnapshot, StageProgress } from '../../core/views/run-snapshot.js';
import { formatMs } from './format-figures.js';
import { pad } from '../common.js';

/** SGR colours; every call site goes through paint() so NO_COLOR and pipes get plain text. */
const SGR = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const;
export type Paint = (style: keyof typeof SGR, text: string) => string;

export function painter(enabled: boolean): Paint {
  return enabled ? (style, text) => `\u001b[${SGR[style]}m${text}\u001b[0m` : (_style, text) => text;
}

/** https://no-color.org: any non-empty NO_COLOR turns colour off. */
export function colorWanted(env: NodeJS.ProcessEnv, isTTY: boolean): boolean {
  return isTTY && !(env.NO_COLOR !== undefined && env.NO_COLOR !== '');
}

export function progressBar(done: number, total: number, width = 20, ascii = false): string {
  const filled = total === 0 ? 0 : Math.round((done / total) * width);
  return ascii ? `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]` : `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
}

const SGR_RE = /\u001b\[[0-9;]*m/g;

/** An aligned table whose cells may hold colour codes (widths count visible characters only). */
export function ansiTable(rows: string[][]): string {
  const visible = (c: string): number => c.replace(SGR_RE, '').length;
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, visible(c))));
  return rows
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : pad(c, (widths[i] ?? 0) + c.length - visible(c)))).join('  ').trimEnd())
    .join('\n');
}

/** Tickets of the stage not finished yet (pending, claimed, or in the middle of a move). */
function leftOf(s: StageProgress): number {
  return s.total - s.completed - s.needs_review - s.failed;
}

/**
 * Completions per minute over the window, while the stage has work left. Why hidden after:
 * the window slides past the last completion, so a finished stage's rate only sinks to zero.
 */
function rate(s: StageProgress): string | undefined {
  return s.per_hour === null || leftOf(s) === 0 ? undefined : `${(s.per_hour / 60).toFixed(1)}/min`;
}

function eta(s: StageProgress): string {
  if (leftOf(s) === 0) return s.total > 0 ? 'done' : '-';
  return s.eta_ms === null ? '-' : formatMs(s.eta_ms);
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** The full-screen frame `tq top` redraws in place on a terminal. */
export function renderTopFrame(s: RunSnapshot, paint: Paint, frame: number, intervalMs: number): string {
  const lines = [paint('bold', `tq top ${s.run_id}`) + paint('dim', `  ${s.at.replace('T', ' ').slice(0, 19)}Z  refresh ${formatMs(intervalMs)}  #${frame}  (Ctrl-C to quit)`), ''];
  const rows = s.stages.map((st) => {
    const pct = st.total === 0 ? 0 : Math.round((st.completed / st.total) * 100);
    const bar = progressBar(st.completed, st.total);
    const extra = [st.needs_review > 0 ? paint('yellow', `${st.needs_review} review`) : '', st.failed > 0 ? paint('red', `${st.failed} failed`) : ''].filter(Boolean).join(' ');
    return [st.stage, `${paint('green', bar)} ${String(pct).padStart(3)}%`, `${st.completed}/${st.total}`, `${st.claimed} claimed`, rate(st) ?? '-', eta(st), extra];
  });
  lines.push(ansiTable([['STAGE', 'PROGRESS', 'DONE', 'ACTIVE', 'RATE', 'ETA', ''], ...rows]));
  lines.push('', `claims: ${s.claims.length}${s.stalled > 0 ? paint('red', `, ${s.stalled} stalled (lease expired; \`tq reap\` or the daemon returns them)`) : ''}`);
  const byWorker = new Map<string, typeof s.claims>();
  for (const c of s.claims) byWorker.set(c.worker_id, [...(byWorker.get(c.worker_id) ?? []), c]);
  const claimRows = [...byWorker.entries()].flatMap(([worker, claims]) =>
    claims.map((c, i) => {
      const lease = c.lease_left_ms === null ? 'no lease yet' : c.stalled ? paint('red', `STALLED ${formatMs(-c.lease_left_ms)} ago`) : `${formatMs(c.lease_left_ms)} left`;
      return [i === 0 ? `  ${worker}` : '', c.ticket_id, lease];
    }),
  );
  if (claimRows.length > 0) lines.push(ansiTable(claimRows));
  const cc = s.concern_counts;
  lines.push('', `concerns: ${paint(cc.error > 0 ? 'red' : 'dim', `${cc.error} error`)}, ${paint(cc.review > 0 ? 'yellow' : 'dim', `${cc.review} review`)}, ${cc.info} info`);
  for (const c of s.recent_concerns) {
    const level = c.level === 'error' ? paint('red', 'ERROR ') : c.level === 'review' ? paint('yellow', 'REVIEW') : 'INFO  ';
    lines.push(`  ${level} ${c.ticket_id}${c.worker_id ? ` (${c.worker_id})` : ''}: ${oneLine(c.message, 90)}`);
  }
  const notes = [s.in_flight > 0 ? `moves in flight: ${s.in_flight}` : '', s.rejected_outputs > 0 ? `late outputs rejected: ${s.rejected_outputs}` : '', s.quarantined > 0 ? paint('red', `quarantined files: ${s.quarantined}`) : ''].filter(Boolean);
  if (notes.length > 0) lines.push('', notes.join(', '));
  return lines.join('\n');
}

/** One status line per interval when stdout is not a terminal (logs, pipes, CI). */
export function renderTopLine(s: RunSnapshot): string {
  const stages = s.stages.map((st) => `${st.stage} ${st.completed}/${st.total}${st.claimed > 0 ? ` (${st.claimed} active)` : ''}${rate(st) !== undefined ? ` ${rate(st)}` : ''}${leftOf(st) > 0 && st.eta_ms !== null ? ` eta ${formatMs(st.eta_ms)}` : ''}`);
  const cc = s.concern_counts;
  return `${s.at} ${s.run_id} | ${stages.join(' | ')} | claims ${s.claims.length}${s.stalled > 0 ? ` (${s.stalled} stalled)` : ''} | concerns ${cc.error} error ${cc.review} review ${cc.info} info`;
}
