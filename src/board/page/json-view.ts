import { h } from './dom.js';

/** JSON pretty-printed in a collapsible block; the text goes in as text, never as markup. */
export function jsonBlock(title: string, value: unknown, open = true): HTMLElement {
  const text = value === undefined ? '(none)' : JSON.stringify(value, null, 2);
  const d = h('details', { class: 'json' }, h('summary', {}, title), h('pre', {}, text));
  if (open) d.setAttribute('open', '');
  return d;
}
