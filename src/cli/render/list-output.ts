import type { TicketDirListing } from '../../core/views/list-tickets.js';
import { stageOfTicketId } from '../../core/model/ids.js';
import { stripTicketSuffix } from '../../core/store/run-names.js';

/** Lines per write: big enough that writes are few, small enough that no chunk is huge. */
const LINES_PER_WRITE = 16_384;

/**
 * Write `tq list`'s table (STATE  STAGE  TICKET-ID  WORKER, columns aligned, trailing blanks
 * trimmed: the same text `table()` makes of those rows, each line ending in a newline) straight
 * from the directory listings, in chunks. Why: on a run of a million tickets, building a row
 * array and one joined string costs several times the listing itself.
 * Returns how many tickets were written (nothing is written for none).
 */
export function writeTicketTable(dirs: readonly TicketDirListing[], write: (text: string) => void): number {
  let count = 0;
  let stateWidth = 0;
  let stageWidth = 0;
  let idWidth = 0;
  for (const d of dirs) {
    if (d.names.length === 0) continue;
    count += d.names.length;
    stateWidth = Math.max(stateWidth, d.state.length);
    if (d.stage !== undefined) stageWidth = Math.max(stageWidth, d.stage.length);
    for (const name of d.names) {
      idWidth = Math.max(idWidth, name.length - 5);
      if (d.stage === undefined) stageWidth = Math.max(stageWidth, stageOfTicketId(stripTicketSuffix(name)).length);
    }
  }
  if (count === 0) return 0;
  const blanks = (n: number): string => ' '.repeat(Math.max(0, n));
  let chunk = '';
  let lines = 0;
  const flush = (): void => {
    if (chunk !== '') write(chunk);
    chunk = '';
    lines = 0;
  };
  for (const d of dirs) {
    if (d.names.length === 0) continue;
    const stateCell = d.state + blanks(stateWidth - d.state.length) + '  ';
    const names = d.names;
    if (d.worker_id === undefined) {
      const head = stateCell + (d.stage as string) + blanks(stageWidth - (d.stage as string).length) + '  ';
      for (let i = 0; i < names.length; i += 1) {
        chunk += head + stripTicketSuffix(names[i] as string) + '\n';
        if (++lines === LINES_PER_WRITE) flush();
      }
    } else {
      const tail = `  ${d.worker_id}\n`;
      for (let i = 0; i < names.length; i += 1) {
        const id = stripTicketSuffix(names[i] as string);
        const stage = d.stage ?? stageOfTicketId(id);
        chunk += stateCell + stage + blanks(stageWidth - stage.length) + '  ' + id + blanks(idWidth - id.length) + tail;
        if (++lines === LINES_PER_WRITE) flush();
      }
    }
  }
  flush();
  return count;
}

/**
 * Write `tq list --json` — byte for byte what JSON.stringify of
 * `{schema_version, run_id, count, tickets: listTickets(...)}` prints, with its newline — from
 * the directory listings, in chunks. Why: at a million tickets that one string is ~130 MB, and
 * a few million would pass V8's maximum string length.
 */
export function writeTicketJson(dirs: readonly TicketDirListing[], head: { schema_version: number; run_id: string }, write: (text: string) => void): number {
  let count = 0;
  for (const d of dirs) count += d.names.length;
  let chunk = `{"schema_version":${JSON.stringify(head.schema_version)},"run_id":${JSON.stringify(head.run_id)},"count":${count},"tickets":[`;
  let lines = 0;
  let first = true;
  for (const d of dirs) {
    const prefix = `${d.dir}/`;
    for (const name of d.names) {
      const id = stripTicketSuffix(name);
      // Same keys in the same order as listTickets' entries.
      const entry =
        d.worker_id === undefined
          ? { ticket_id: id, state: d.state, stage: d.stage as string, path: prefix + name }
          : { ticket_id: id, state: d.state, stage: stageOfTicketId(id), path: prefix + name, worker_id: d.worker_id };
      chunk += (first ? '' : ',') + JSON.stringify(entry);
      first = false;
      if (++lines === LINES_PER_WRITE) {
        write(chunk);
        chunk = '';
        lines = 0;
      }
    }
  }
  write(`${chunk}]}\n`);
  return count;
}
