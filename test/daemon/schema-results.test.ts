/**
 * A file-only agent's result that breaks the stage schema gets the same message as a CLI submit
 * (file, pointer, rule), in its <ticket-id>~<tag>.result.error.json; the pointer counts from the result file
 * (`/output_data/...`), since that is the file the agent wrote.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimTicket } from '../../src/core/ops/claim-ticket.js';
import { REPO_ROOT, makeRun, type TestRun } from '../helpers/make-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';
import { ls, stateFile, readTicketFile } from '../helpers/ticket-files.js';
import { errorOf, passDaemon, workerDir, type InProcessDaemon } from './daemon-test-kit.js';
import { addTickets, itemsOf } from '../../src/core/ops/add-tickets.js';
import type { JsonObject } from '../../src/core/model/ticket-schema.js';

const GALLIA = join(REPO_ROOT, 'examples', 'gallia');

let root: string;
let run: TestRun;
let d: InProcessDaemon;
beforeEach(async () => {
  root = await makeTempDir();
  run = await makeRun(root, 'gallia', JSON.parse(readFileSync(join(GALLIA, 'pipeline.json'), 'utf8')) as unknown);
  const walks = readFileSync(join(GALLIA, 'walks.jsonl'), 'utf8').trim().split('\n').slice(0, 2).map((l) => JSON.parse(l) as JsonObject);
  await addTickets(run.ctx, 'parse', itemsOf(walks));
  d = await passDaemon(root, run.clock);
});
afterEach(async () => {
  await d.daemon.stop();
  await removeDir(root);
});

describe('result files against the stage schema', () => {
  it('a wrong-shaped output gets an error file naming the result file, the pointer and the rule; the fixed one completes', async () => {
    const c = await claimTicket(run.ctx, { stage: 'parse', workerId: 'fa' });
    const id = String(c?.ticket.ticket_id);
    const result = join(workerDir(run.ctx, 'fa'), `${id}~1.result.json`);
    await writeFile(result, JSON.stringify({ output_data: { beats: [{ node: '0x157263', speaker: 'Courier', text: 'Papers, please.', function: 'challenge' }] } }));
    await d.daemon.pass();
    const err = await errorOf(run.ctx, 'fa', `${id}~1.result`);
    expect(err).toMatchObject({ code: 'INVALID_INPUT', field: 'output_data', hint: 'the schema is schemas/parse.output.schema.json in the run (`tq schema parse.output --run gallia`)' });
    expect(err.message).toBe(
      `claimed/fa/${id}~1.result.json: output of stage parse does not match stages.parse.output_schema: /output_data: must have required property 'walk_id' (required at #/required); /output_data/beats/0: must have required property 'node_id' (required at #/properties/beats/items/required)`,
    );
    await writeFile(result, JSON.stringify({ output_data: { walk_id: 'walk-001', beats: [{ node_id: '0x157263', speaker: 'Courier', text: 'Papers, please.', function: 'challenge' }] } }));
    await d.daemon.pass();
    expect(await ls(workerDir(run.ctx, 'fa'))).toEqual([]);
    expect((await readTicketFile(stateFile(run.ctx, 'completed', 'parse', id))).output_data).toMatchObject({ walk_id: 'walk-001' });
  });
});
