import { join } from 'node:path';
import { misnamedTicketProblem } from '../store/read-ticket.js';
import { errnoCode, isTqError } from '../model/errors.js';
import { isAgentSideFileName, ticketIdOfFileName } from '../store/run-names.js';
import { ALL_STATES, type TicketState } from '../model/states.js';
import { parseTicket } from '../model/serialize-ticket.js';
import { listDir } from '../store/atomic-write.js';
import { stageOfTicketId } from '../model/ids.js';
import type { Ticket } from '../model/ticket-schema.js';
import { quarantineProblem, type FoundTicket, type FsckSession } from './fsck-session.js';

/**
 * List every state directory and read every ticket in it. A file that is not a valid ticket in
 * the right place (symlink, stray, corrupt, misnamed, misplaced) is reported, and quarantined
 * with --repair; a directory that is not a stage is reported. Returns the valid tickets.
 */
export async function takeCensus(s: FsckSession): Promise<FoundTicket[]> {
  const { ctx } = s;
  const found: FoundTicket[] = [];
  const stages = new Set(Object.keys(ctx.config.pipeline.stages));
  for (const state of ALL_STATES) {
    const top = join(ctx.paths.dir, state);
    for (const sub of await listDir(ctx, top)) {
      const subPath = join(top, sub);
      const st = await ctx.fs.lstat(subPath).catch(() => undefined);
      if (!st) continue;
      if (st.isSymbolicLink()) {
        await quarantineProblem(s, { kind: 'symlink', file: subPath, message: `${subPath} is a symlink; ticketq never follows links out of a run` });
        continue;
      }
      if (!st.isDirectory()) {
        await quarantineProblem(s, { kind: 'misplaced', file: subPath, message: `${subPath} is a file directly in ${state}/; tickets live in ${state}/${state === 'claimed' ? '<worker-id>' : '<stage>'}/` });
        continue;
      }
      if (state !== 'claimed' && !stages.has(sub)) {
        s.problems.push({ kind: 'stray_file', file: subPath, message: `${subPath}: "${sub}" is not a stage of this run` });
        continue;
      }
      for (const name of await listDir(ctx, subPath)) {
        const f = await readCensusFile(s, state, sub, name);
        if (f) found.push(f);
      }
    }
  }
  return found;
}

/** One file of <state>/<sub>/: the ticket it holds, or undefined (skipped, gone, or reported). */
async function readCensusFile(s: FsckSession, state: TicketState, sub: string, name: string): Promise<FoundTicket | undefined> {
  const path = join(s.ctx.paths.dir, state, sub, name);
  if (name.startsWith('.')) return undefined;
  if (state === 'claimed' && isAgentSideFileName(name)) return undefined;
  const id = ticketIdOfFileName(name);
  const est = await s.ctx.fs.lstat(path).catch(() => undefined);
  if (!est) return undefined;
  if (est.isSymbolicLink()) {
    await quarantineProblem(s, { kind: 'symlink', file: path, message: `${path} is a symlink; ticketq never follows links out of a run` });
    return undefined;
  }
  if (id === undefined || !est.isFile()) {
    await quarantineProblem(s, { kind: 'stray_file', file: path, message: `${path} is not a ticket file (<ticket-id>.json)` });
    return undefined;
  }
  let ticket: Ticket;
  try {
    ticket = parseTicket(await s.ctx.fs.readFile(path), path);
  } catch (err) {
    // RACE: moved on since we listed it; the census of its new place counts it.
    if (errnoCode(err) === 'ENOENT') return undefined;
    if (!isTqError(err, 'CORRUPT_TICKET')) throw err;
    await quarantineProblem(s, { kind: 'corrupt', file: path, ticket_id: id, message: err.message });
    return undefined;
  }
  const misnamed = misnamedTicketProblem(ticket, path);
  if (misnamed !== undefined) {
    await quarantineProblem(s, { kind: 'misnamed', file: path, ticket_id: id, message: misnamed });
    return undefined;
  }
  const expectedStage = state === 'claimed' ? stageOfTicketId(id) : sub;
  if (ticket.worker_type !== expectedStage || stageOfTicketId(id) !== ticket.worker_type) {
    await quarantineProblem(s, { kind: 'misplaced', file: path, ticket_id: id, message: `${path}: field worker_type is "${ticket.worker_type}" but the file is in ${state}/${sub}/` });
    return undefined;
  }
  return { id, state, path, ticket };
}
