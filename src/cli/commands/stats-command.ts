import { collectRunStats, type RunStats, type StatsRow } from '../../core/views/run-stats.js';
import { openRunFromArgs, table } from '../common.js';
import { str, type CommandSpec } from '../command.js';
import { formatCount, formatMs, formatRate, formatUsd } from '../render/format-figures.js';

const FIGURE_HEADERS = ['TOKENS IN', 'OUT', 'TOTAL', 'COST', 'WORK', 'HELD', 'DONE/H', 'CLAIMS', 'REAPS', 'CONCERNS i/r/e'];

function figures(r: StatsRow): string[] {
  return [
    formatCount(r.input_tokens),
    formatCount(r.output_tokens),
    formatCount(r.total_tokens),
    formatUsd(r.cost_usd),
    formatMs(r.work_ms),
    formatMs(r.held_ms),
    formatRate(r.completed_per_hour),
    String(r.claims),
    String(r.reaps),
    `${r.concerns.info}/${r.concerns.review}/${r.concerns.error}`,
  ];
}

/** The model a worker reported most often ("sonnet", or "sonnet+1" when it used several). */
function mainModel(r: StatsRow): string {
  const models = Object.entries(r.models).sort((a, b) => b[1] - a[1]);
  const first = models[0];
  if (!first) return '-';
  return models.length > 1 ? `${first[0]}+${models.length - 1}` : first[0];
}

export function renderStats(s: RunStats): string {
  const stageRows = Object.entries(s.stages).map(([stage, r]) => {
    const all = r.states.pending + r.states.claimed + r.states.completed + r.states.failed + r.states.needs_review;
    return [stage, `${r.states.completed}/${all}`, String(r.states.needs_review), String(r.states.failed), String(r.states.pending + r.states.claimed), ...figures(r)];
  });
  const t = s.totals;
  const lines = [
    `run ${s.run_id}: ${t.submitted} submitted (${t.completed} completed, ${t.needs_review} review, ${t.failed} failed), ${formatCount(t.total_tokens)} tokens${t.cost_usd > 0 ? `, ${formatUsd(t.cost_usd)}` : ''}`,
    '',
    table([['STAGE', 'DONE', 'REVIEW', 'FAILED', 'LEFT', ...FIGURE_HEADERS], ...stageRows, ['total', String(t.completed), String(t.needs_review), String(t.failed), '', ...figures(t)]]),
  ];
  const workers = Object.entries(s.workers);
  if (workers.length > 0) {
    lines.push('', table([['WORKER', 'MODEL', 'SUBMITTED', ...FIGURE_HEADERS], ...workers.map(([w, r]) => [w, mainModel(r), String(r.submitted), ...figures(r)])]));
  }
  if (t.rejected_outputs > 0) {
    lines.push('', `late outputs refused after a lost lease: ${t.rejected_outputs} (${formatCount(t.wasted_tokens)} tokens${t.wasted_cost_usd > 0 ? `, ${formatUsd(t.wasted_cost_usd)}` : ''} spent on them; see rejected/)`);
  }
  lines.push('', 'WORK = sum of usage.duration_ms; HELD = claim -> submit; DONE/H = completed per hour from first claim to last submit.');
  return lines.join('\n');
}

export const statsCommand: CommandSpec = {
  command: 'stats <run>',
  describe: 'tokens, cost, time, throughput, reaps and concerns per stage and per worker',
  examples: [
    ['$0 stats gallia', 'one table per stage and per worker'],
    ['$0 stats gallia --json', '{"stages": {"translate": {"total_tokens": 1500000, ...}}, "workers": {...}, "totals": {...}}'],
  ],
  builder: (y) => y.positional('run', { type: 'string', describe: 'run id' }),
  async run(args) {
    const ctx = await openRunFromArgs({ ...args, run: str(args, 'run') });
    const s = await collectRunStats(ctx);
    return { data: { ...s }, text: renderStats(s) };
  },
};
