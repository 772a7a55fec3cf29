import { getJson } from './api.js';
import { clear, formatMs, h, stateBadge, ticketLink } from './dom.js';
import type { TicketPage, TicketRow } from './types.js';

export const ROW_PX = 26;
const PAGE = 200;
const OVERSCAN = 10;

/**
 * A column of tickets where only the rows on screen are in the DOM. The list's full height is a
 * spacer; rows are fetched a page (200) at a time as they scroll into view. Why: a stage of
 * 100,000 tickets would otherwise be 100,000 elements, and one request of all of them.
 */
export class VirtualList {
  readonly el: HTMLElement;
  readonly #spacer: HTMLElement;
  readonly #rows: HTMLElement;
  #total = 0;
  #pages = new Map<number, TicketRow[] | 'loading'>();
  #gen = 0;
  readonly onTotal: (n: number) => void;

  constructor(
    private readonly run: string,
    private readonly query: () => string,
    onTotal: (n: number) => void,
  ) {
    this.onTotal = onTotal;
    this.#spacer = h('div', { class: 'spacer' });
    this.#rows = h('div', { class: 'rows' });
    this.el = h('div', { class: 'vlist' }, this.#spacer, this.#rows);
    this.el.addEventListener('scroll', () => void this.#fill(), { passive: true });
  }

  /** Forget every page (the filters or the run changed) and draw what is on screen again. */
  async reload(): Promise<void> {
    this.#gen += 1;
    this.#pages = new Map();
    await this.#fill();
  }

  async #page(n: number): Promise<void> {
    if (this.#pages.has(n)) return;
    this.#pages.set(n, 'loading');
    const gen = this.#gen;
    const url = `/api/runs/${encodeURIComponent(this.run)}/tickets?${this.query()}&offset=${n * PAGE}&limit=${PAGE}`;
    const page = await getJson<TicketPage>(url);
    if (gen !== this.#gen) return;
    this.#pages.set(n, page.items);
    this.#total = page.total;
    this.#spacer.style.height = `${page.total * ROW_PX}px`;
    this.onTotal(page.total);
  }

  async #fill(): Promise<void> {
    const first = Math.max(0, Math.floor(this.el.scrollTop / ROW_PX) - OVERSCAN);
    const last = Math.floor((this.el.scrollTop + Math.max(this.el.clientHeight, 400)) / ROW_PX) + OVERSCAN;
    const pages = new Set([Math.floor(first / PAGE), Math.floor(last / PAGE)]);
    if (this.#pages.size === 0) pages.add(0);
    await Promise.all([...pages].map((p) => this.#page(p)));
    this.#draw(first, Math.min(last, this.#total - 1));
  }

  #draw(first: number, last: number): void {
    clear(this.#rows);
    for (let i = first; i <= last; i += 1) {
      const page = this.#pages.get(Math.floor(i / PAGE));
      const row = Array.isArray(page) ? page[i % PAGE] : undefined;
      if (row === undefined) continue;
      const el = rowElement(this.run, row);
      el.style.top = `${i * ROW_PX}px`;
      this.#rows.appendChild(el);
    }
  }
}

function rowElement(run: string, r: TicketRow): HTMLElement {
  const extra = r.state === 'claimed' ? h('span', { class: r.stalled ? 'lease warn' : 'lease' }, `${r.worker_id ?? '?'} · ${r.stalled ? 'stalled ' : ''}${formatMs(r.lease_left_ms)}`) : null;
  return h('div', { class: 'row', 'data-ticket': r.ticket_id }, stateBadge(r.state), ticketLink(run, r.ticket_id), extra);
}
