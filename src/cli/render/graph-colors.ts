/** Fill per ticket state and outline per concern level, shared by the DOT and Mermaid renderings. */
export const STATE_FILL: Record<string, string> = {
  pending: '#ffffff',
  claimed: '#dbe9ff',
  completed: '#d9f2d9',
  needs_review: '#fff2cc',
  failed: '#f8d0d0',
  unknown: '#eeeeee',
};

export const CONCERN_STROKE = { review: '#e69500', error: '#d00000' } as const;

/** The marks a node label carries for its concerns, e.g. "⚠ 2 review". */
export function concernMarks(concerns: { review: number; error: number }): string[] {
  const marks: string[] = [];
  if (concerns.error > 0) marks.push(`✖ ${concerns.error} error`);
  if (concerns.review > 0) marks.push(`⚠ ${concerns.review} review`);
  return marks;
}
