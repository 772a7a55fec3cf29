import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { jsonOf, runTq } from '../helpers/capture-io.js';
import { makeRun } from '../helpers/make-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';
import { newTicket } from '../../src/core/model/new-ticket.js';

let root: string;
beforeEach(async () => {
  root = await makeTempDir('tq-cli-schema-');
});
afterEach(async () => {
  await removeDir(root);
});

describe('tq schema', () => {
  it('lists the names; stage schemas need --run', async () => {
    expect((await runTq(root, ['schema'])).stdout.split('\n').slice(0, 4)).toEqual(['ticket', 'request', 'reply', 'result']);
    await makeRun(root, 'gallia', { stages: { translate: { output_schema: { type: 'object', required: ['translated_texts'] } } } });
    const names = jsonOf((await runTq(root, ['schema', '--run', 'gallia', '--json'])).stdout);
    expect(names).toEqual({ schema_version: 1, names: ['ticket', 'request', 'reply', 'result', 'translate.input', 'translate.output'] });
    const out = jsonOf((await runTq(root, ['schema', 'translate.output', '--run', 'gallia', '--json'])).stdout);
    expect(out).toMatchObject({ name: 'translate.output', schema: { type: 'object', required: ['translated_texts'] } });
  });

  it('prints the ticket JSON Schema, and a real ticket validates against it', async () => {
    const r = await runTq(root, ['schema', 'ticket']);
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(schema.title).toBe('ticketq ticket');
    const validator = z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
    const ticket = newTicket({ runId: 'r', stage: 'parse', input: { id: 'x' }, now: new Date(), pipeline: { stages: { parse: {} }, cascade: [] } });
    expect(validator.safeParse(ticket).success).toBe(true);
    expect(validator.safeParse({ ...ticket, status: 'lost' }).success).toBe(false);
  });

  it('an unknown name exits 4 and lists the names', async () => {
    const r = await runTq(root, ['schema', 'tiket']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('schemas are: ticket, request, reply, result');
  });
});
