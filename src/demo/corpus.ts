/**
 * The demo's synthetic dialogue corpus and the "work" its simulated agents do. Deterministic:
 * the same seed gives the same walks, translations and nouns.
 */
export interface DialogueNode {
  node_id: string;
  speaker: string;
  text: string;
}

export interface Walk {
  id: string;
  source_game: string;
  node_ids: string[];
  nodes: DialogueNode[];
}

const SPEAKERS = ['Courier', 'Legionary', 'Guard', 'Clerk', 'Ranger', 'Prefect'];
const LINES = [
  'Halt. The Legion does not suffer travellers without papers.',
  'You will need a permit stamped at the dam before you cross.',
  'The Republic files every complaint in triplicate.',
  'Papers, please. Form 27-B, signed and countersigned.',
  'Caesar sends his regards, and a tax assessment.',
  'Nobody crosses the dam after curfew. Regulations.',
  'Take it up with the Republic, the office opens on Tuesdays.',
  'The Legion keeps the roads safe. For a fee.',
  'Your request has been received and will be ignored in order.',
  'Go on, then. But the clerk at the dam will want a word.',
];

/** Proper nouns the translators "discover", and their curated Gallia renderings. */
export const NOUNS: Record<string, { noun: string; rationale: string }> = {
  Legion: { noun: 'la Légion', rationale: 'French Foreign Legion resonance, institutional weight' },
  dam: { noun: 'Barrage', rationale: 'literal "dam" and metaphoric "checkpoint/obstruction"' },
  Republic: { noun: 'Hexagone', rationale: 'French metonym for centralized government (like "the Beltway")' },
};

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** `count` walks of 2–5 dialogue nodes with hex node ids like 0x14dfea. */
export function makeWalks(count: number, seed = 20251222): Walk[] {
  const r = rng(seed);
  const walks: Walk[] = [];
  for (let i = 0; i < count; i += 1) {
    const len = 2 + Math.floor(r() * 4);
    const nodes: DialogueNode[] = [];
    for (let j = 0; j < len; j += 1) {
      const id = `0x${(0x100000 + Math.floor(r() * 0xeffff)).toString(16)}`;
      nodes.push({ node_id: id, speaker: SPEAKERS[Math.floor(r() * SPEAKERS.length)] ?? 'Clerk', text: LINES[Math.floor(r() * LINES.length)] ?? '' });
    }
    walks.push({ id: `walk-${String(i + 1).padStart(3, '0')}`, source_game: r() < 0.5 ? 'falloutnv' : 'oblivion', node_ids: nodes.map((n) => n.node_id), nodes });
  }
  return walks;
}

export interface Beat {
  node_id: string;
  speaker: string;
  text: string;
  function: 'challenge' | 'demand' | 'deflect' | 'inform';
}

/** parse: split a walk into beats, each keeping its source node id. */
export function parseWalk(walk: { id: string; nodes: DialogueNode[] }): { walk_id: string; beats: Beat[] } {
  const fn = (t: string): Beat['function'] => (t.startsWith('Halt') || t.startsWith('Papers') ? 'challenge' : t.includes('need') || t.includes('fee') ? 'demand' : t.includes('Take it up') || t.includes('ignored') ? 'deflect' : 'inform');
  return { walk_id: walk.id, beats: walk.nodes.map((n) => ({ node_id: n.node_id, speaker: n.speaker, text: n.text, function: fn(n.text) })) };
}

const PHRASES: [RegExp, string][] = [
  [/the Legion/gi, 'la Légion'],
  [/the dam/gi, 'le Barrage'],
  [/the Republic/gi, "l'Hexagone"],
  [/papers/gi, 'papiers'],
  [/permit/gi, 'laissez-passer'],
  [/clerk/gi, 'fonctionnaire'],
];

/** translate: render each beat in the Gallia register; report proper nouns met on the way. */
export function translateBeats(input: { walk_id?: string; beats?: Beat[] }): { walk_id: string; translated_texts: { node_id: string; text: string }[]; new_nouns: { noun: string; source: string; node_ids: string[] }[] } {
  const beats = input.beats ?? [];
  const nouns = new Map<string, { noun: string; source: string; node_ids: string[] }>();
  const translated = beats.map((b) => {
    let text = b.text;
    for (const [re, rep] of PHRASES) text = text.replace(re, rep);
    for (const [source, info] of Object.entries(NOUNS)) {
      if (b.text.includes(source)) {
        const entry = nouns.get(info.noun) ?? { noun: info.noun, source, node_ids: [] };
        entry.node_ids.push(b.node_id);
        nouns.set(info.noun, entry);
      }
    }
    return { node_id: b.node_id, text: `« ${text} »` };
  });
  return { walk_id: input.walk_id ?? '', translated_texts: translated, new_nouns: [...nouns.values()] };
}

/** curate: decide on a proper noun. */
export function curateNoun(input: { noun?: string; source?: string }): { noun: string; verdict: 'APPROVE'; rationale: string } {
  const info = Object.values(NOUNS).find((n) => n.noun === input.noun);
  return { noun: input.noun ?? '', verdict: 'APPROVE', rationale: info?.rationale ?? 'fits the register' };
}
