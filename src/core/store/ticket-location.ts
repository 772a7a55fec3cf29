import { TqError } from '../model/errors.js';
import { stageOfTicketId, validateId } from '../model/ids.js';
import { TicketState } from '../model/states.js';
import type { Ticket } from '../model/ticket-schema.js';
import { laneOfTicket, parseLaneName } from '../model/lanes.js';
import { LANES_DIR_NAME, ticketFileName, ticketIdOfFileName } from './run-names.js';
import { claimedDir, stateDir, type RunCtx } from './run-context.js';

/**
 * Where a ticket file is, said by its path alone: the truth about a ticket's id, stage, state
 * and holder. Why: agents can write any file in the run, so a ticket's JSON is only a claim
 * about itself; a path is never built from what a file says, and what a file says is checked
 * against where it is (see ticketLocationProblem).
 */
export type TicketLocation =
  | { state: typeof TicketState.claimed; ticketId: string; stage: string; worker: string }
  /** `lane`: only in pending/, a lane directory (model/lanes.ts); undefined for pending/<stage>/ itself. */
  | { state: Exclude<TicketState, 'claimed'>; ticketId: string; stage: string; lane?: string };

/** The location of a ticket in `claimed/<worker>/`. Ids are validated (INVALID_ID otherwise). */
export function claimedLocation(ticketId: string, worker: string): TicketLocation {
  validateId(ticketId, 'ticket id');
  validateId(worker, 'worker id');
  return { state: TicketState.claimed, ticketId, stage: stageOfTicketId(ticketId), worker };
}

/**
 * The location of a ticket in `<state>/<stage>/`, where the stage is the one its id names; in
 * pending/, `lane` names a lane directory (a name parseLaneName accepts, else INVALID_ID).
 */
export function stateLocation(state: Exclude<TicketState, 'claimed'>, ticketId: string, lane?: string): TicketLocation {
  validateId(ticketId, 'ticket id');
  const stage = stageOfTicketId(ticketId);
  validateId(stage, 'stage');
  if (lane === undefined) return { state, ticketId, stage };
  if (state !== TicketState.pending || parseLaneName(lane) === undefined) {
    throw new TqError('INVALID_ID', `"${lane}" is not a lane of ${state}/${stage}/`, { field: 'lane' });
  }
  return { state, ticketId, stage, lane };
}

/** Where this pending ticket belongs: the lane of its priority and not_before (model/lanes.ts). */
export function pendingLocationOf(ticketId: string, ticket: Pick<Ticket, 'priority' | 'not_before'>): TicketLocation {
  return stateLocation(TicketState.pending, ticketId, laneOfTicket(ticket));
}

/** The file of a location: built from validated ids (and a validated lane name) only. */
export function pathOfLocation(ctx: RunCtx, loc: TicketLocation): string {
  if (loc.state === TicketState.claimed) return `${claimedDir(ctx, loc.worker)}/${ticketFileName(loc.ticketId)}`;
  const dir = stateDir(ctx, loc.state, loc.stage);
  return loc.lane === undefined ? `${dir}/${ticketFileName(loc.ticketId)}` : `${dir}/${LANES_DIR_NAME}/${loc.lane}/${ticketFileName(loc.ticketId)}`;
}

/**
 * The location of a ticket file from its path relative to the run directory
 * (`pending/parse/parse-1.json`, `claimed/w1/parse-1.json`), or undefined when the path is not
 * where a ticket can be (a stray name, a directory too deep, an invalid id, a stage directory
 * that is not the stage its id names).
 */
export function locationOfRelPath(relPath: string): TicketLocation | undefined {
  const parts = relPath.split('/');
  const lane = laneOfParts(parts);
  if (parts.length !== 3 && lane === undefined) return undefined;
  const [state, sub] = parts as [string, string];
  const ticketId = ticketIdOfFileName(parts[parts.length - 1] as string);
  if (ticketId === undefined) return undefined;
  try {
    if (state === TicketState.claimed) return claimedLocation(ticketId, sub);
    if (!(Object.values(TicketState) as string[]).includes(state)) return undefined;
    const loc = stateLocation(state as Exclude<TicketState, 'claimed'>, ticketId, lane);
    return loc.stage === sub ? loc : undefined;
  } catch {
    return undefined;
  }
}

/** `pending/<stage>/lanes/<lane>/<name>`: the lane; undefined for any other path. */
function laneOfParts(parts: string[]): string | undefined {
  if (parts.length !== 5 || parts[0] !== TicketState.pending || parts[2] !== LANES_DIR_NAME) return undefined;
  return parseLaneName(parts[3] as string)?.name;
}

export interface LocationProblem {
  /** The JSON field that disagrees with the location. */
  field: 'ticket_id' | 'worker_type' | 'status' | 'claim.worker_id' | 'claim';
  message: string;
}

/**
 * What the content of a ticket says that its location contradicts, or undefined when they
 * agree: its id (the file name), its stage (the id's stage prefix and the stage directory), its
 * status (the state directory) and, in claimed/<worker>/, its holder. An unstamped claim (see
 * isUnstampedClaim) agrees with claimed/<worker>/.
 */
export function ticketLocationProblem(ticket: Ticket, loc: TicketLocation, file: string): LocationProblem | undefined {
  const where = describeLocation(loc);
  if (ticket.ticket_id !== loc.ticketId) {
    return { field: 'ticket_id', message: `${file}: field ticket_id is ${shown(ticket.ticket_id)} but the file is named ${ticketFileName(loc.ticketId)}` };
  }
  if (ticket.worker_type !== loc.stage) {
    return { field: 'worker_type', message: `${file}: field worker_type is ${shown(ticket.worker_type)} but ticket ${loc.ticketId} belongs to stage ${loc.stage}` };
  }
  if (ticket.status !== loc.state && !isUnstampedClaim(ticket, loc)) {
    return { field: 'status', message: `${file}: field status is ${shown(ticket.status)} but the file is in ${where}` };
  }
  if (loc.state === TicketState.claimed && ticket.claim !== null && ticket.claim.worker_id !== loc.worker) {
    return { field: 'claim.worker_id', message: `${file}: field claim.worker_id is ${shown(ticket.claim.worker_id)} but the file is in ${where}` };
  }
  return undefined;
}

/** CORRUPT_TICKET naming the file and field unless the ticket agrees with its location. */
export function checkTicketLocation(ticket: Ticket, loc: TicketLocation, file: string): void {
  const problem = ticketLocationProblem(ticket, loc, file);
  if (problem) {
    throw new TqError('CORRUPT_TICKET', problem.message, {
      file,
      field: problem.field,
      hint: 'a ticket file was edited or copied by hand; `tq fsck --repair` quarantines it and restores the ticket from registry/',
    });
  }
}

/**
 * A ticket in claimed/<worker>/ that still reads as it did in pending/ (status pending, no
 * claim): its claimer renamed it and has not stamped it yet (or died in between; the reaper
 * adopts it). Why it agrees with its location: it is a step of every claim, not an edit.
 */
export function isUnstampedClaim(ticket: Pick<Ticket, 'status' | 'claim'>, loc: TicketLocation): boolean {
  return loc.state === TicketState.claimed && ticket.status === TicketState.pending && ticket.claim === null;
}

/** Where a move sends a ticket: a state, and for claimed/ the worker whose directory it goes to. */
export type MoveTarget = { state: typeof TicketState.claimed; worker: string } | { state: Exclude<TicketState, 'claimed'> };

/**
 * The location of ticket `ticketId` in `to` (ids validated: INVALID_ID otherwise). Into pending/,
 * the lane comes from `ticket`, the version that goes there.
 */
export function targetLocation(ticketId: string, to: MoveTarget, ticket: Pick<Ticket, 'priority' | 'not_before'>): TicketLocation {
  if (to.state === TicketState.claimed) return claimedLocation(ticketId, to.worker);
  return to.state === TicketState.pending ? pendingLocationOf(ticketId, ticket) : stateLocation(to.state, ticketId);
}

/** Where a location is, as people read it (`claimed/w1/`, `completed/parse/`, `pending/parse/lanes/p5/`). */
export function describeLocation(loc: TicketLocation): string {
  if (loc.state === TicketState.claimed) return `${TicketState.claimed}/${loc.worker}/`;
  return loc.lane === undefined ? `${loc.state}/${loc.stage}/` : `${loc.state}/${loc.stage}/${LANES_DIR_NAME}/${loc.lane}/`;
}

/** A string read out of a file, as an error message shows it: quoted, and cut short (a hostile field can be megabytes). */
export function shown(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}
