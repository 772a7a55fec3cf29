import { getJson } from './api.js';
import { clear, h, link } from './dom.js';
import { graphPage } from './graph-page.js';
import { Live } from './live.js';
import { overviewPage } from './overview-page.js';
import { runPage } from './run-page.js';
import { ticketPage } from './ticket-page.js';

/**
 * The board's page: one script, no framework (the DOM and a few helpers are enough for tables,
 * a virtual list and an SVG). Routes are real paths (/run/<run>/ticket/<id>) drawn without a
 * reload; the server answers each with this same page.
 */
const app = document.getElementById('app') as HTMLElement;
const crumbs = document.getElementById('crumbs') as HTMLElement;
const live = new Live(document.getElementById('live') as HTMLElement);
let allowActions = false;
let shown = 0;

function segments(): string[] {
  return location.pathname.split('/').filter((s) => s !== '').map(decodeURIComponent);
}

async function draw(): Promise<void> {
  const mine = ++shown;
  clear(app);
  clear(crumbs);
  live.listen(undefined);
  const [top, run, what, id] = segments();
  let page: { refresh: () => Promise<void> };
  if (top === 'run' && run !== undefined) {
    crumbs.append(' / ', link(['run', run], run));
    if (what === 'ticket' && id !== undefined) {
      crumbs.append(' / ', id);
      page = await ticketPage(app, run, id, allowActions);
    } else if (what === 'graph') {
      crumbs.append(' / DAG & stats');
      page = await graphPage(app, run);
    } else page = await runPage(app, run);
  } else {
    page = overviewPage(app);
    await page.refresh();
  }
  if (mine !== shown) return;
  // Why `again`: a change that comes while the page is being redrawn must not be lost.
  let busy = false;
  let again = false;
  const redraw = (): void => {
    busy = true;
    again = false;
    void page.refresh().catch(() => undefined).finally(() => {
      busy = false;
      if (again && mine === shown) redraw();
    });
  };
  live.listen((runs) => {
    if (run !== undefined && runs !== undefined && !runs.includes(run)) return;
    if (busy) again = true;
    else redraw();
  });
}

function show(err: unknown): void {
  app.append(h('p', { class: 'error' }, String((err as Error)?.message ?? err)));
}

document.addEventListener('click', (ev) => {
  const a = (ev.target as Element).closest('a[data-link]');
  if (a === null || ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
  ev.preventDefault();
  history.pushState(null, '', a.getAttribute('href'));
  void draw().catch(show);
});
window.addEventListener('popstate', () => void draw().catch(show));

void getJson<{ allow_actions: boolean }>('/api/config')
  .then((c) => (allowActions = c.allow_actions))
  .catch(() => undefined)
  .finally(() => void draw().catch(show));
