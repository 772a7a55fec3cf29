/**
 * The one way the page makes elements. Why: ticket content is written by untrusted agents;
 * text goes in only as text nodes (never innerHTML), attributes only by name, never an `on*`
 * handler, and links only to the board's own paths.
 */
export type Child = Node | string | number | null | undefined | false;

export function h(tag: string, attrs: Record<string, string | undefined> = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined) continue;
    if (/^on/i.test(name)) throw new Error(`h(): no ${name} attribute`);
    el.setAttribute(name, value);
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

export function clear(el: Node): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function svg(tag: string, attrs: Record<string, string | number> = {}, ...children: Child[]): SVGElement {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  append(el, children);
  return el;
}

/** A link inside the board: the path is built from encoded ids, so it never leaves it. */
export function link(parts: string[], text: Child, cls?: string): HTMLElement {
  return h('a', { href: `/${parts.map(encodeURIComponent).join('/')}`, 'data-link': '', class: cls }, text);
}

export function ticketLink(run: string, id: string): HTMLElement {
  return link(['run', run, 'ticket', id], id, 'ticket-link');
}

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  const s = Math.round(Math.abs(ms) / 1000);
  const sign = ms < 0 ? '-' : '';
  if (s < 60) return `${sign}${s}s`;
  if (s < 3600) return `${sign}${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${sign}${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function stateBadge(state: string): HTMLElement {
  return h('span', { class: `badge st-${state}` }, state);
}
