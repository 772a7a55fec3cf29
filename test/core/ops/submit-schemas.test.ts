import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimTicket } from '../../../src/core/ops/claim-ticket.js';
import { submitTicket } from '../../../src/core/ops/submit-ticket.js';
import { isTqError, type TqError } from '../../../src/core/model/errors.js';
import { addItems, makeRun, type TestRun } from '../../helpers/make-run.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';
import { ls } from '../../helpers/ticket-files.js';

/** find -> check: find's output is free, but each element of `found` must be a valid check input. */
const PIPELINE = {
  stages: {
    find: { output_schema: { type: 'object', required: ['found'] } },
    check: { input_schema: { type: 'object', required: ['noun', 'source'], properties: { noun: { type: 'string' }, source: { type: 'string' } } } },
    whole: { input_schema: { type: 'object', required: ['found', 'at'], properties: { at: { type: 'string', format: 'date-time' } } } },
  },
  cascade: [
    { from: 'find', to: 'check', for_each: 'found', key: 'noun' },
    { from: 'find', to: 'whole' },
  ],
};

let root: string;
let run: TestRun;
beforeEach(async () => {
  root = await makeTempDir();
  run = await makeRun(root, 'schemas', PIPELINE);
});
afterEach(async () => {
  await removeDir(root);
});

async function refusal(p: Promise<unknown>): Promise<TqError> {
  try {
    await p;
  } catch (err) {
    expect(isTqError(err, 'INVALID_INPUT'), String(err)).toBe(true);
    return err as TqError;
  }
  throw new Error('accepted');
}

async function claimFind(): Promise<string> {
  await addItems(run.ctx, 'find', [{ id: 'x' }]);
  const c = await claimTicket(run.ctx, { stage: 'find', workerId: 'w' });
  if (!c) throw new Error('nothing claimed');
  return c.ticket.ticket_id;
}

describe('submit checks the inputs its children would get', () => {
  it('refuses an element that is not a valid input of the for_each target, naming it and its pointer', async () => {
    const id = await claimFind();
    const output = { at: '2030-01-01T00:00:00Z', found: [{ noun: 'Hexagone', source: 'Republic' }, { noun: 'Barrage' }] };
    const err = await refusal(submitTicket(run.ctx, { ticketId: id, workerId: 'w', output, outputFile: 'out.json' }));
    expect(err.message).toBe("out.json: output_data.found[1], the input of a check ticket, does not match stages.check.input_schema: /found/1: must have required property 'source' (required at #/required)");
    expect(err.field).toBe('output_data');
    // Nothing happened: the ticket is still held, no child exists.
    expect(await ls(`${run.ctx.paths.dir}/pending/check`)).toEqual([]);
  });

  it('refuses an output that is not a valid input of a whole-output child (a format)', async () => {
    const id = await claimFind();
    const err = await refusal(submitTicket(run.ctx, { ticketId: id, workerId: 'w', output: { at: 'noon', found: [] }, outputFile: 'claimed/w/x.result.json', outputPointer: '/output_data' }));
    expect(err.message).toBe('claimed/w/x.result.json: output_data, the input of a whole ticket, does not match stages.whole.input_schema: /output_data/at: must match format "date-time" (format at #/properties/at/format)');
  });

  it('accepts an output whose children are all valid, and makes them', async () => {
    const id = await claimFind();
    const r = await submitTicket(run.ctx, { ticketId: id, workerId: 'w', output: { at: '2030-01-01T00:00:00Z', found: [{ noun: 'Hexagone', source: 'Republic' }] } });
    expect(r.ticket.status).toBe('completed');
    expect(r.cascade?.created).toHaveLength(2);
  });

  it('without outputFile, the error names output_data', async () => {
    const id = await claimFind();
    const err = await refusal(submitTicket(run.ctx, { ticketId: id, workerId: 'w', output: {} }));
    expect(err.message).toBe("output_data: output of stage find does not match stages.find.output_schema: (root): must have required property 'found' (required at #/required)");
  });
});
