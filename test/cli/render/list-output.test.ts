import { describe, expect, it } from 'vitest';
import { writeTicketJson, writeTicketTable } from '../../../src/cli/render/list-output.js';
import { table } from '../../../src/cli/common.js';
import { stageOfTicketId } from '../../../src/core/model/ids.js';
import type { TicketDirListing } from '../../../src/core/views/list-tickets.js';

function render(dirs: TicketDirListing[]): { text: string; writes: number; count: number } {
  const parts: string[] = [];
  const count = writeTicketTable(dirs, (t) => parts.push(t));
  return { text: parts.join(''), writes: parts.length, count };
}

/** What `tq list` printed before it streamed: table() of every row, plus the final newline. */
function viaTable(dirs: TicketDirListing[]): string {
  const rows = dirs.flatMap((d) => d.names.map((n) => {
    const id = n.slice(0, -5);
    return [d.state, d.stage ?? stageOfTicketId(id), id, d.worker_id ?? ''];
  }));
  return rows.length === 0 ? '' : `${table(rows)}\n`;
}

const dir = (state: TicketDirListing['state'], stage: string | undefined, names: string[], worker_id?: string): TicketDirListing => ({ state, stage, worker_id, dir: `/r/${state}`, names });

describe('writeTicketTable', () => {
  it('writes exactly the aligned table, claimed rows with their worker', () => {
    const dirs = [
      dir('pending', 'parse', ['parse-a.json', 'parse-bbbbbbbbbbbb.json']),
      dir('pending', 'translate', ['translate-x.json']),
      dir('claimed', undefined, ['curate-k-y.json', 'parse-c.json'], 'agent-10'),
      dir('claimed', undefined, [], 'w2'),
      dir('completed', 'parse', ['parse-d.json']),
      dir('needs_review', 'curate', []),
    ];
    const r = render(dirs);
    expect(r.count).toBe(6);
    expect(r.text).toBe(viaTable(dirs));
    expect(r.text.split('\n')[3]).toBe(`claimed    curate     curate-k-y${' '.repeat(10)}agent-10`);
  });

  it('claimed rows under a stage filter, and nothing at all for no tickets', () => {
    const dirs = [dir('claimed', 'parse', ['parse-1.json'], 'a'), dir('claimed', 'parse', ['parse-22.json'], 'b')];
    expect(render(dirs).text).toBe(viaTable(dirs));
    expect(render([dir('pending', 'parse', [])])).toEqual({ text: '', writes: 0, count: 0 });
  });

  it('writes big listings in a few chunks, not a line at a time', () => {
    const names = Array.from({ length: 40_000 }, (_, i) => `work-${String(i).padStart(6, '0')}.json`);
    const dirs = [dir('pending', 'work', names), dir('claimed', undefined, names.slice(0, 3), 'w')];
    const r = render(dirs);
    expect(r.count).toBe(40_003);
    expect(r.writes).toBe(3);
    expect(r.text).toBe(viaTable(dirs));
  });
});

describe('writeTicketJson', () => {
  /** What `tq list --json` printed before it streamed: one JSON.stringify of every entry, as listTickets makes them. */
  function viaStringify(dirs: TicketDirListing[]): string {
    const tickets = dirs.flatMap((d) =>
      d.names.map((n) => {
        const id = n.slice(0, -5);
        return d.worker_id === undefined
          ? { ticket_id: id, state: d.state, stage: d.stage, path: `${d.dir}/${n}` }
          : { ticket_id: id, state: d.state, stage: stageOfTicketId(id), path: `${d.dir}/${n}`, worker_id: d.worker_id };
      }),
    );
    return `${JSON.stringify({ schema_version: 1, run_id: 'r"1', count: tickets.length, tickets })}\n`;
  }
  function stream(dirs: TicketDirListing[]): { text: string; writes: number; count: number } {
    const parts: string[] = [];
    const count = writeTicketJson(dirs, { schema_version: 1, run_id: 'r"1' }, (t) => parts.push(t));
    return { text: parts.join(''), writes: parts.length, count };
  }

  it('writes byte for byte the JSON of the whole list, claimed entries with their worker', () => {
    const dirs = [
      dir('pending', 'parse', ['parse-a.json', 'parse-b.json']),
      dir('claimed', undefined, ['curate-k-y.json'], 'agent-10'),
      dir('completed', 'translate', []),
      dir('failed', 'translate', ['translate-q.json']),
    ];
    const out = stream(dirs);
    expect(out.text).toBe(viaStringify(dirs));
    expect(out.count).toBe(4);
    expect(JSON.parse(out.text).tickets).toHaveLength(4);
  });

  it('writes an empty list as the same JSON, and many entries in a few writes', () => {
    expect(stream([]).text).toBe(viaStringify([]));
    const many = [dir('pending', 'parse', Array.from({ length: 40_000 }, (_, i) => `parse-${i}.json`))];
    const out = stream(many);
    expect(out.text).toBe(viaStringify(many));
    expect(out.writes).toBe(3);
  });
});
