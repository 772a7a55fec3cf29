import { getJson } from './api.js';
import { clear, formatMs, h, link } from './dom.js';
import type { Overview, Snapshot, StageProgress } from './types.js';

const BAR_STATES = ['completed', 'needs_review', 'failed', 'claimed', 'pending'] as const;

/** A stacked bar: one segment per state, widths by share of the stage's total. */
function progressBar(s: StageProgress): HTMLElement {
  const bar = h('div', { class: 'bar', title: `${s.completed + s.needs_review + s.failed} of ${s.total} finished` });
  const total = Math.max(s.total, 1);
  for (const st of BAR_STATES) {
    const n = s[st];
    if (n > 0) {
      const seg = h('span', { class: `seg st-${st}` });
      seg.style.width = `${(100 * n) / total}%`;
      bar.appendChild(seg);
    }
  }
  return bar;
}

function stageRow(s: StageProgress): HTMLElement {
  const done = s.completed + s.needs_review + s.failed;
  return h(
    'tr',
    { 'data-stage': s.stage },
    h('th', {}, s.stage),
    h('td', { class: 'barcell' }, progressBar(s)),
    h('td', { class: 'num' }, `${done}/${s.total}`),
    ...(['pending', 'claimed', 'completed', 'needs_review', 'failed'] as const).map((st) => h('td', { class: 'num', 'data-state': st }, s[st])),
    h('td', { class: 'num' }, s.per_hour === null ? '—' : `${s.per_hour}/h`),
    h('td', { class: 'num' }, formatMs(s.eta_ms)),
  );
}

function runCard(run_id: string, snap: Snapshot): HTMLElement {
  const c = snap.concern_counts;
  const head = h('tr', {}, ...['stage', 'progress', 'done', 'pending', 'claimed', 'completed', 'review', 'failed', 'rate', 'ETA'].map((t) => h('th', {}, t)));
  return h(
    'section',
    { class: 'card', 'data-run': run_id },
    h('h2', {}, link(['run', run_id], run_id), ' ', link(['run', run_id, 'graph'], 'DAG & stats', 'sub')),
    h(
      'p',
      { class: 'facts' },
      h('span', { class: snap.stalled > 0 ? 'warn' : '' }, `stalled claims: ${snap.stalled}`),
      ` · claims: ${snap.claims.length} · concerns: `,
      h('span', { class: 'lv-error' }, `${c.error} error`),
      ', ',
      h('span', { class: 'lv-review' }, `${c.review} review`),
      `, ${c.info} info · rejected outputs: ${snap.rejected_outputs} · quarantined: ${snap.quarantined}`,
    ),
    h('table', { class: 'stages' }, h('thead', {}, head), h('tbody', {}, ...snap.stages.map(stageRow))),
  );
}

/** The overview of every run; `refresh` redraws it in place (live updates, no reload). */
export function overviewPage(app: HTMLElement): { refresh: () => Promise<void> } {
  const list = h('div', { class: 'runs' });
  app.append(h('h1', {}, 'Runs'), list);
  const refresh = async (): Promise<void> => {
    const data = await getJson<Overview>('/api/runs');
    clear(list);
    if (data.runs.length === 0) list.append(h('p', {}, 'No runs under the root yet (tq create).'));
    for (const r of data.runs) {
      list.append(r.snapshot ? runCard(r.run_id, r.snapshot) : h('section', { class: 'card error' }, h('h2', {}, r.run_id), h('p', {}, r.error ?? '')));
    }
  };
  return { refresh };
}
