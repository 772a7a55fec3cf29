/**
 * The one work item every system processes: ~400 bytes of JSON, the same for all, so that the
 * peers and ticketq move the same bytes.
 */
export const PAYLOAD: Readonly<Record<string, unknown>> = Object.freeze({
  id: 'doc-000042',
  lang: 'fr',
  source: 'corpus/gallia/book-3/chapter-07.xml',
  text:
    'Gallia est omnis divisa in partes tres, quarum unam incolunt Belgae, aliam Aquitani, tertiam qui ipsorum ' +
    'lingua Celtae, nostra Galli appellantur. Hi omnes lingua, institutis, legibus inter se differunt. Gallos ab ' +
    'Aquitanis Garumna flumen, a Belgis Matrona et Sequana dividit.',
  tags: ['latin', 'caesar', 'de-bello-gallico'],
});

/** What a worker hands back. */
export const OUTPUT: Readonly<Record<string, unknown>> = Object.freeze({ summary: 'translated', tokens: 311 });

export const PAYLOAD_BYTES = Buffer.byteLength(JSON.stringify(PAYLOAD));

/**
 * The i-th work item: PAYLOAD with its own `id`, as real work items have. Why: ticketq keys
 * items by `id` and adds an item already in the run only once, so n copies of PAYLOAD would
 * make one ticket. `tag` keeps ids of different processes apart.
 */
export function payloadItem(i: number, tag = ''): Record<string, unknown> {
  return { ...PAYLOAD, id: `doc-${tag}${String(i).padStart(6, '0')}` };
}

/** n distinct work items (see payloadItem). */
export function payloadItems(n: number, tag = ''): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => payloadItem(i, tag));
}
