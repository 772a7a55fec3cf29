import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addTickets, itemsOf } from '../../../src/core/ops/add-tickets.js';
import { itemKeyOf } from '../../../src/core/model/item-key.js';
import { itemEntryPath, recordItem } from '../../../src/core/protocol/item-index.js';
import { registryPath } from '../../../src/core/protocol/birth-ticket.js';
import { newTicketId } from '../../../src/core/model/ids.js';
import { isTqError } from '../../../src/core/model/errors.js';
import { listTickets } from '../../../src/core/views/list-tickets.js';
import { readTicketAt } from '../../../src/core/store/read-ticket.js';
import type { JsonObject } from '../../../src/core/model/ticket-schema.js';
import { makeRun, parseItems, type TestRun } from '../../helpers/make-run.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';
import { expectFsckOk, ls, pendingDir } from '../../helpers/ticket-files.js';
import { runTq } from '../../helpers/capture-io.js';

let root: string;
let run: TestRun;
beforeEach(async () => {
  root = await makeTempDir('tq-add-');
  run = await makeRun(root);
});
afterEach(async () => {
  await removeDir(root);
});

const add = (items: JsonObject[], opts: Parameters<typeof addTickets>[3] = {}) => addTickets(run.ctx, 'parse', itemsOf(items), opts);

/** The input_data of every pending parse ticket. */
async function pendingInputs(): Promise<JsonObject[]> {
  const tickets = await listTickets(run.ctx, { stage: 'parse', state: 'pending' });
  return Promise.all(tickets.map(async (t) => (await readTicketAt(run.ctx, t.path)).input_data));
}

describe('addTickets: the same item is added once', () => {
  it('adding the same items twice adds nothing the second time, and says so', async () => {
    const first = await add(parseItems(3));
    expect(first).toMatchObject({ created: 3, existing: 0, changed: 0 });
    const second = await add(parseItems(3));
    expect(second).toMatchObject({ created: 0, existing: 3, changed: 0 });
    // The second add names the tickets the items already have.
    expect(second.ticket_ids).toEqual(first.ticket_ids);
    expect(await ls(pendingDir(run.ctx, 'parse'))).toHaveLength(3);
    await expectFsckOk(run.ctx);
  });

  it('records the item key in the ticket, in its birth record and in items/<stage>/', async () => {
    const [id] = (await add([{ id: 'walk-001', text: 'a' }])).ticket_ids;
    const ticket = await readTicketAt(run.ctx, join(pendingDir(run.ctx, 'parse'), `${id}.json`));
    expect(ticket.item_key).toBe('id:walk-001');
    expect(JSON.parse(await readFile(registryPath(run.ctx, 'parse', id as string), 'utf8'))).toMatchObject({ status: 'pending', item_key: 'id:walk-001' });
    const entries = await ls(join(run.ctx.paths.items, 'parse'));
    expect(entries).toEqual([expect.stringMatching(/^id-walk_001-[0-9a-f]{16}\.json$/)]);
    expect(JSON.parse(await readFile(join(run.ctx.paths.items, 'parse', entries[0] as string), 'utf8'))).toMatchObject({ item_key: 'id:walk-001', ticket_id: id });
  });

  it('items with the same content but different ids are different items', async () => {
    const r = await add([
      { id: 'a', text: 'same' },
      { id: 'b', text: 'same' },
    ]);
    expect(r.created).toBe(2);
  });

  it('items without an id are the same item when their content is (in any key order)', async () => {
    const r = await add([{ text: 'x', n: 1 }, { n: 1, text: 'x' }, { text: 'y', n: 1 }]);
    expect(r).toMatchObject({ created: 2, existing: 1 });
    expect((await pendingInputs()).map((i) => i.text).sort()).toEqual(['x', 'y']);
    expect(itemKeyOf({ text: 'x', n: 1 }).key).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('an item whose id was added with other content is not added, and is named', async () => {
    await add([{ id: 'a', text: 'first' }]);
    const r = await add([{ id: 'a', text: 'second' }, { id: 'b', text: 'new' }]);
    expect(r).toMatchObject({ created: 1, existing: 0, changed: 1 });
    expect(r.changed_items).toEqual([{ where: 'input[0]', item_key: 'id:a', ticket_id: expect.stringMatching(/^parse-/) }]);
    expect((await pendingInputs()).map((i) => i.text).sort()).toEqual(['first', 'new']);
  });

  it('allowDuplicates adds every item again (with the same item_key)', async () => {
    await add(parseItems(2));
    const again = await add(parseItems(2), { allowDuplicates: true });
    expect(again).toMatchObject({ created: 2, existing: 0 });
    const tickets = await listTickets(run.ctx, { stage: 'parse' });
    expect(tickets).toHaveLength(4);
    const keys = await Promise.all(tickets.map(async (t) => (await readTicketAt(run.ctx, t.path)).item_key));
    expect(keys.sort()).toEqual(['id:n0', 'id:n0', 'id:n1', 'id:n1']);
    // A plain add after it still adds nothing.
    expect(await add(parseItems(2))).toMatchObject({ created: 0, existing: 2 });
    await expectFsckOk(run.ctx);
  });

  it('a repeat within one input is the same item', async () => {
    expect(await add([{ id: 'a' }, { id: 'a' }, { id: 'a' }])).toMatchObject({ created: 1, existing: 2 });
  });

  it('an adder that died after recording the item but before its birth: the next add births that ticket', async () => {
    const [item] = parseItems(1) as [JsonObject];
    const key = itemKeyOf(item);
    const recorded = newTicketId('parse', run.clock.now());
    expect(await recordItem(run.ctx, 'parse', key, recorded)).toEqual({ kind: 'new', ticketId: recorded });
    const r = await add([item]);
    expect(r).toMatchObject({ created: 1, existing: 0, ticket_ids: [recorded] });
    expect(await ls(pendingDir(run.ctx, 'parse'))).toEqual([`${recorded}.json`]);
    await expectFsckOk(run.ctx);
  });

  it('an adder that died after the birth record, before publishing: the next add publishes the stranded ticket', async () => {
    const [id] = (await add(parseItems(1))).ticket_ids as [string];
    // As if the publish step never happened: the ticket is in moving/ as a staged birth.
    const ticketFile = join(pendingDir(run.ctx, 'parse'), `${id}.json`);
    const text = await readFile(ticketFile, 'utf8');
    await rm(ticketFile);
    await writeFile(join(run.ctx.paths.moving, `${id}~abcdef012345.new.json`), text);
    expect(await add(parseItems(1))).toMatchObject({ created: 0, existing: 1 });
    expect(await ls(pendingDir(run.ctx, 'parse'))).toEqual([`${id}.json`]);
    await expectFsckOk(run.ctx);
  });

  it('a damaged item entry is CORRUPT_TICKET naming the file', async () => {
    const [item] = parseItems(1) as [JsonObject];
    await add([item]);
    const file = itemEntryPath(run.ctx, 'parse', itemKeyOf(item));
    await writeFile(file, JSON.stringify({ item_key: 'id:n0', ticket_id: '../../x', content_hash: 'h', added_at: 'now' }));
    const err = await add([item]).catch((e: unknown) => e);
    expect(isTqError(err, 'CORRUPT_TICKET'), String(err)).toBe(true);
    expect((err as Error).message).toContain(file);
  });
});

describe('tq add (CLI): what it says', () => {
  it('"added 1 parse ticket", then "added 0 ...; 2 already present (same item)", and --allow-duplicates', async () => {
    const input = join(root, 'walks.jsonl');
    await writeFile(input, '{"id":"w1"}\n');
    expect((await runTq(root, ['add', 'demo', '--input', input])).stdout).toBe('added 1 parse ticket to demo\n');
    await writeFile(input, '{"id":"w1"}\n{"id":"w2"}\n');
    expect((await runTq(root, ['add', 'demo', '--input', input])).stdout).toBe('added 1 parse ticket to demo; 1 already present (same item)\n  (pass --allow-duplicates to add them anyway)\n');
    const again = await runTq(root, ['add', 'demo', '--input', input]);
    expect(again.stdout).toMatch(/^added 0 parse tickets to demo; 2 already present \(same item\)\n/);
    const forced = await runTq(root, ['add', 'demo', '--input', input, '--allow-duplicates', '--json']);
    expect(JSON.parse(forced.stdout)).toMatchObject({ created: 2, existing: 0 });
    expect(await ls(pendingDir(run.ctx, 'parse'))).toHaveLength(4);
  });

  it('tq create --input follows the same rule: a repeated item in the input is one ticket', async () => {
    const input = join(root, 'dup.jsonl');
    await writeFile(input, '{"id":"a","t":1}\n{"id":"a","t":1}\n{"id":"b"}\n');
    await writeFile(join(root, 'pipeline.json'), JSON.stringify(run.ctx.config.pipeline));
    const ok = await runTq(root, ['create', 'r2', '--pipeline', join(root, 'pipeline.json'), '--input', input]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('added 2 parse tickets; 1 already present (same item)');
    expect(await ls(join(root, 'r2', 'pending', 'parse'))).toHaveLength(2);
  });
});
