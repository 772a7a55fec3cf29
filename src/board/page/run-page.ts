import { getJson } from './api.js';
import { h, link } from './dom.js';
import { STATES } from './types.js';
import { VirtualList } from './virtual-list.js';

interface Filters {
  state: HTMLSelectElement;
  worker: HTMLInputElement;
  concern: HTMLSelectElement;
  ref: HTMLInputElement;
  q: HTMLInputElement;
}

function select(name: string, options: string[]): HTMLSelectElement {
  const el = h('select', { name, 'aria-label': name }) as HTMLSelectElement;
  el.append(h('option', { value: '' }, `any ${name}`), ...options.map((o) => h('option', { value: o }, o)));
  return el;
}

function filterBar(): { bar: HTMLElement; filters: Filters } {
  const filters: Filters = {
    state: select('state', STATES),
    worker: h('input', { name: 'worker', placeholder: 'worker', 'aria-label': 'worker' }) as HTMLInputElement,
    concern: select('concern', ['error', 'review', 'info']),
    ref: h('input', { name: 'ref', placeholder: 'source ref, e.g. 0x14dfea', 'aria-label': 'source ref' }) as HTMLInputElement,
    q: h('input', { name: 'q', type: 'search', placeholder: 'search ids and source refs', 'aria-label': 'search' }) as HTMLInputElement,
  };
  return { bar: h('div', { class: 'filters' }, filters.q, filters.state, filters.worker, filters.concern, filters.ref), filters };
}

function queryOf(f: Filters, stage: string): string {
  const p = new URLSearchParams({ stage });
  for (const key of ['state', 'worker', 'concern', 'ref', 'q'] as const) {
    const v = f[key].value.trim();
    if (v !== '') p.set(key, v);
  }
  return p.toString();
}

/**
 * A run: one column per stage, each a virtual list of its tickets (state, worker and lease
 * left for claims), filtered by state, worker, concern level, source ref and a search.
 */
export async function runPage(app: HTMLElement, run: string): Promise<{ refresh: () => Promise<void> }> {
  const info = await getJson<{ stages: string[] }>(`/api/runs/${encodeURIComponent(run)}`);
  const { bar, filters } = filterBar();
  const cols = h('div', { class: 'columns' });
  app.append(h('h1', {}, run, ' ', link(['run', run, 'graph'], 'DAG & stats', 'sub')), bar, cols);
  const lists = info.stages.map((stage) => {
    const count = h('span', { class: 'count' }, '…');
    const list = new VirtualList(run, () => queryOf(filters, stage), (n) => (count.textContent = String(n)));
    cols.append(h('section', { class: 'column', 'data-stage': stage }, h('h2', {}, stage, ' ', count), list.el));
    return list;
  });
  const refresh = async (): Promise<void> => {
    await Promise.all(lists.map((l) => l.reload()));
  };
  let typing: number | undefined;
  const later = (): void => {
    window.clearTimeout(typing);
    typing = window.setTimeout(() => void refresh(), 250);
  };
  for (const el of Object.values(filters) as HTMLElement[]) {
    el.addEventListener('input', later);
    el.addEventListener('change', later);
  }
  await refresh();
  return { refresh };
}
