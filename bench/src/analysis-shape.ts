/** The analysis of figure 7 (agent-like jobs), from this run's numbers. */
import type { Report } from './report.js';

export function renderShapeAnalysis(report: Report): string {
  const fig = report.figures.find((f) => f.id === '7');
  if (!fig) return '';
  const row = (prefix: string) => fig.rows.find((r) => r.label.startsWith(prefix) && !r.status);
  const ms = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? 'n/a' : `${x.toFixed(2)} ms`);
  const none = row("queue overhead per ticket: ticketq (durability 'none')");
  const full = row("queue overhead per ticket: ticketq (durability 'full')");
  const runner = row('`tq work` runner overhead per ticket, wall');
  const runnerCpu = row('`tq work` runner overhead per ticket, CPU');
  const bare = row('the program run bare');
  const lines: string[] = [];
  if (none) lines.push(`- With 50 ms jobs and 16 workers, ticketq 'none' adds ${ms(none.value)} per ticket over the ideal, BullMQ without persistence ${ms(none.baseline)}; durable, ticketq 'full' adds ${ms(full?.value)} and BullMQ with \`appendfsync always\` ${ms(full?.baseline)}. Against a 50 ms job, ${none.value < 2.5 ? 'that is under 5%' : `that is ${Math.round((none.value / 50) * 100)}%`} for ticketq 'none'.`);
  if (runner && bare) lines.push(`- \`tq work\` adds ${ms(runner.value)} of wall time and ${ms(runnerCpu?.value)} of CPU per ticket over running the same program bare (${ms(bare.value)} per run): its claim, submit, log and heartbeat per ticket, and one \`tq\` start-up spread over the runs.`);
  return lines.length > 0 ? `### Agent-like jobs (figure 7)\n\n${lines.join('\n')}\n` : '';
}
