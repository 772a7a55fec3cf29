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
