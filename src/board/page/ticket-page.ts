import { getJson, postAction } from './api.js';
import { h, stateBadge, ticketLink, type Child } from './dom.js';
import { jsonBlock } from './json-view.js';
import type { Concern, TicketDetails } from './types.js';

function section(title: string, ...children: Child[]): HTMLElement {
  return h('section', { class: 'panel' }, h('h2', {}, title), ...children);
}

function concernList(concerns: Concern[]): HTMLElement {
  if (concerns.length === 0) return h('p', { class: 'muted' }, 'none');
  return h(
    'ul',
    { class: 'concerns' },
    ...concerns.map((c) => h('li', { class: `lv-${c.level}` }, h('strong', {}, c.level), ' ', c.message, c.suggestion ? h('div', { class: 'suggestion' }, 'suggestion: ', c.suggestion) : null, c.at ? h('div', { class: 'muted' }, c.at) : null)),
  );
}

function ids(run: string, list: string[]): Child {
  if (list.length === 0) return h('span', { class: 'muted' }, 'none');
  const out = h('span', { class: 'ids' });
  list.forEach((id, i) => out.append(...(i > 0 ? [', '] : []), ticketLink(run, id)));
  return out;
}

function lineageSection(run: string, d: TicketDetails): HTMLElement {
  const chains = d.lineage.chains.map((chain) => {
    const li = h('li', {});
    chain.forEach((id, i) => li.append(...(i > 0 ? [' → '] : []), ticketLink(run, id), ' ', stateBadge(d.lineage.nodes[id]?.state ?? '?')));
    return li;
  });
  return section(
    'Lineage',
    h('dl', {}, h('dt', {}, 'parents'), h('dd', {}, ids(run, d.ticket.lineage.parents)), h('dt', {}, 'children'), h('dd', {}, ids(run, d.children)), h('dt', {}, 'requested by'), h('dd', {}, ids(run, d.requested_by))),
    h('ol', { class: 'chains' }, ...chains),
    d.lineage.truncated ? h('p', { class: 'muted' }, 'more chains left out') : null,
    h('h3', {}, 'Source refs'),
    h('p', { class: 'refs' }, d.lineage.all_source_refs.length > 0 ? d.lineage.all_source_refs.join(', ') : 'none'),
  );
}

function historySection(d: TicketDetails): HTMLElement {
  return section('History', h('ol', { class: 'timeline' }, ...d.ticket.history.map((e) => h('li', {}, h('time', {}, e.at), ' ', h('strong', {}, e.event), e.worker_id ? ` by ${e.worker_id}` : '', e.note ? h('div', { class: 'muted' }, e.note) : null))));
}

function otherSections(d: TicketDetails): HTMLElement[] {
  const rejected = d.rejected_outputs.map((r) => h('div', {}, h('p', {}, `${r.rejected_at} from ${r.worker_id}: ${r.reason}`), jsonBlock(`output (${r.status})`, r.output_data, false), concernList(r.worker_concerns)));
  const logs = d.logs.map((l) => h('details', { class: 'log' }, h('summary', {}, l.name + (l.truncated ? ' (first 64 KB)' : '')), h('pre', {}, l.text)));
  return [
    section('Usage', d.ticket.usage ? jsonBlock('usage', d.ticket.usage) : h('p', { class: 'muted' }, 'none reported')),
    section('Rejected late outputs', ...(rejected.length > 0 ? rejected : [h('p', { class: 'muted' }, 'none')])),
    section('Logs (tq work)', ...(logs.length > 0 ? logs : [h('p', { class: 'muted' }, 'none')])),
  ];
}

/** The actions that fit the ticket's state, each behind a confirm(). */
function actionBar(run: string, d: TicketDetails, after: () => void): HTMLElement | null {
  const stalled = d.state === 'claimed' && d.ticket.claim !== null && Date.parse(d.ticket.claim.lease_expires_at) <= Date.now();
  const actions = d.state === 'needs_review' ? ['approve', 'requeue'] : d.state === 'failed' ? ['requeue'] : stalled ? ['release'] : [];
  if (actions.length === 0) return null;
  const msg = h('span', { class: 'action-msg' });
  const buttons = actions.map((a) => {
    const b = h('button', { type: 'button', 'data-action': a }, a);
    b.addEventListener('click', () => {
      if (!window.confirm(`${a} ${d.ticket.ticket_id}?`)) return;
      postAction(run, d.ticket.ticket_id, a).then(
        () => after(),
        (err: Error) => (msg.textContent = err.message),
      );
    });
    return b;
  });
  return h('div', { class: 'actions' }, ...buttons, msg);
}

/** One ticket: what `tq show` and `tq lineage` say, readable, with links to its relatives. */
export async function ticketPage(app: HTMLElement, run: string, id: string, allowActions: boolean): Promise<{ refresh: () => Promise<void> }> {
  const body = h('div', { class: 'ticket' });
  app.append(body);
  const refresh = async (): Promise<void> => {
    const d = await getJson<TicketDetails>(`/api/runs/${encodeURIComponent(run)}/tickets/${encodeURIComponent(id)}`);
    const t = d.ticket;
    const actions = allowActions ? actionBar(run, d, () => void refresh()) : null;
    body.replaceChildren(
      h('h1', {}, t.ticket_id, ' ', stateBadge(d.state)),
      h('p', { class: 'facts' }, `stage ${t.worker_type} · attempts ${t.attempts} · created ${t.created_at}${t.completed_at ? ` · finished ${t.completed_at}` : ''}${d.state === 'claimed' && t.claim ? ` · held by ${t.claim.worker_id} until ${t.claim.lease_expires_at}` : ''}`),
      h('p', { class: 'muted path' }, d.path),
      ...(actions ? [actions] : []),
      section('Input', jsonBlock('input_data', t.input_data)),
      section('Output', jsonBlock('output_data', t.output_data)),
      section('Concerns', concernList(t.worker_concerns)),
      lineageSection(run, d),
      historySection(d),
      ...otherSections(d),
    );
  };
  await refresh();
  return { refresh };
}
