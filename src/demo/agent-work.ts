/**
 * The simulated "agent work" of the demo: what an LLM agent would make of one ticket of each
 * stage, deterministic, with usage and an occasional concern. Used by the `tq work` agent
 * (demo-agent.ts) and by the file-only agents (demo-worker.ts).
 */
import { curateNoun, parseWalk, translateBeats, type Beat, type DialogueNode } from './corpus.js';

export type Json = Record<string, unknown>;

/** The simulated "agent work" for one ticket, with usage and an occasional concern. */
export function doWork(stage: string, input: Json, ticketId: string): { output: Json; concerns: Json[]; usage: Json } {
  let output: Json;
  const concerns: Json[] = [];
  if (stage === 'parse') {
    output = parseWalk({ id: String(input.id ?? ''), nodes: (input.nodes as DialogueNode[] | undefined) ?? [] });
    if (((input.nodes as unknown[]) ?? []).length >= 5) concerns.push({ level: 'info', message: `long walk ${String(input.id)}`, suggestion: 'consider splitting walks over 4 nodes' });
  } else if (stage === 'translate') {
    output = translateBeats(input as { walk_id?: string; beats?: Beat[] });
    const tt = output.translated_texts as { text: string; node_id: string }[];
    const odd = tt.find((t) => t.text.includes('triplicate'));
    if (odd) concerns.push({ level: 'review', message: `idiom "in triplicate" kept literally at ${odd.node_id}`, suggestion: 'check the Gallia style guide for bureaucratic idioms' });
  } else {
    output = curateNoun(input as { noun?: string });
  }
  const chars = JSON.stringify(input).length;
  const usage = { input_tokens: 400 + chars, output_tokens: 150 + (chars >> 1), model: stage === 'parse' ? 'haiku-sim' : 'sonnet-sim', duration_ms: 30 + (ticketId.charCodeAt(ticketId.length - 1) % 50) };
  return { output, concerns, usage };
}
