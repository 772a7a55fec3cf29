import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { curateNoun, makeWalks, parseWalk, translateBeats, type Walk } from '../../src/demo/corpus.js';
import { parsePipeline } from '../../src/core/model/pipeline.js';
import { checkStageData } from '../../src/core/model/stage-schemas.js';
import { REPO_ROOT } from '../helpers/make-run.js';

const GALLIA = join(REPO_ROOT, 'examples', 'gallia');
const pipeline = parsePipeline(JSON.parse(readFileSync(join(GALLIA, 'pipeline.json'), 'utf8')), 'examples/gallia/pipeline.json');

describe("the demo's simulated agents follow examples/gallia/pipeline.json", () => {
  const fromFile = readFileSync(join(GALLIA, 'walks.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Walk);
  for (const [label, walks] of [['walks.jsonl', fromFile], ['makeWalks(50)', makeWalks(50)]] as const) {
    it(`${label}: every walk, beat list, translation, noun and verdict matches its stage schema`, async () => {
      let nouns = 0;
      for (const walk of walks) {
        const where = { file: `${label} ${walk.id}` };
        await checkStageData(pipeline, 'parse', 'input', walk, where);
        const parsed = parseWalk(walk);
        await checkStageData(pipeline, 'parse', 'output', parsed, where);
        await checkStageData(pipeline, 'translate', 'input', parsed, where);
        const translated = translateBeats(parsed);
        await checkStageData(pipeline, 'translate', 'output', translated, where);
        for (const noun of translated.new_nouns) {
          nouns += 1;
          await checkStageData(pipeline, 'curate', 'input', noun, where);
          await checkStageData(pipeline, 'curate', 'output', curateNoun(noun), where);
        }
      }
      expect(nouns).toBeGreaterThan(0);
    });
  }

  it('the schemas are not vacuous: a beat named `node` fails', async () => {
    const parsed = parseWalk(makeWalks(1)[0] as Walk);
    const { node_id, ...rest } = parsed.beats[0] as { node_id: string };
    await expect(checkStageData(pipeline, 'parse', 'output', { ...parsed, beats: [{ ...rest, node: node_id }] }, { file: 'x' })).rejects.toThrow(/must have required property 'node_id'/);
  });
});
