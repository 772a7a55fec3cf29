import { TqError } from '../model/errors.js';
import type { RunCtx } from '../store/run-context.js';
import { cascadeTicket, type CascadeMarker } from './cascade-ticket.js';
import { checkCascadeOutput, childInputs } from './plan-children.js';
import { checkStageData } from '../model/stage-schemas.js';
import { keepRejectedOutput } from '../store/reject-output.js';
import { locateAll } from '../protocol/locate-ticket.js';
import { heldLocation, refusalError, tryMoveHeldTicket } from './worker-moves.js';
import { explainRefusal } from './worker-refusal.js';
import { ticketLocationProblem } from '../store/ticket-location.js';
import { withHistory } from '../model/serialize-ticket.js';
import { readTicketAt } from '../store/read-ticket.js';
import { SUBMIT_STATES, type SubmitState } from '../model/states.js';
import { Concern, JsonObject, Usage, type Ticket } from '../model/ticket-schema.js';
import { formatZodError } from '../model/zod-messages.js';
import { checkJsonValue } from '../model/json-limits.js';

export interface SubmitOptions {
  ticketId: string;
  workerId: string;
  output: unknown;
  concerns?: unknown[];
  usage?: unknown;
  status?: SubmitState;
  /** The claim token; when given, a submit from an older claim of the same worker is refused. */
  token?: string;
  /** Where the output came from (the --output file, a result file), named first in errors about it. */
  outputFile?: string;
  /** JSON pointer of output_data inside outputFile (`/output_data` in a result file; default: the whole file). */
  outputPointer?: string;
}

export interface SubmitResult {
  ticket: Ticket;
  path: string;
  cascade?: CascadeMarker;
  /** True when this submit had already been applied (a safe repeat after a crash). */
  repeated: boolean;
}

/** Built once: constructing a zod schema costs more than using it (~0.2 ms per submit). */
const Concerns = Concern.array();

/** Validate what a worker hands in; errors say which field is wrong. Nothing is moved. */
export async function validateSubmission(ctx: RunCtx, stage: string, opts: SubmitOptions): Promise<{ output: JsonObject; concerns: Concern[]; usage: Usage | null; status: SubmitState }> {
  const status = opts.status ?? 'completed';
  if (!SUBMIT_STATES.includes(status)) {
    throw new TqError('USAGE', `status "${String(status)}" is not one of ${SUBMIT_STATES.join(', ')}`, { field: 'status' });
  }
  checkJsonValue(opts.output, 'output_data', 'output_data');
  const output = JsonObject.safeParse(opts.output);
  if (!output.success) {
    throw new TqError('INVALID_INPUT', `output_data must be a JSON object, got ${Array.isArray(opts.output) ? 'an array' : opts.output === null ? 'null' : typeof opts.output}`, {
      field: 'output_data',
      hint: 'wrap your result in an object, e.g. {"translated_texts": [...]}',
    });
  }
  const concerns = Concerns.safeParse(opts.concerns ?? []);
  if (!concerns.success) {
    throw new TqError('INVALID_INPUT', `worker_concerns: ${formatZodError(concerns.error)}`, {
      field: 'worker_concerns',
      hint: 'each concern is {"level": "info"|"review"|"error", "message": "...", "suggestion": "..."}',
    });
  }
  const usage = opts.usage === undefined || opts.usage === null ? null : Usage.safeParse(opts.usage);
  if (usage !== null && !usage.success) {
    throw new TqError('INVALID_INPUT', `usage: ${formatZodError(usage.error)}`, {
      field: 'usage',
      hint: 'usage fields: input_tokens, output_tokens, total_tokens, cost_usd, model, duration_ms',
    });
  }
  if (status === 'completed') await checkCompletedOutput(ctx, stage, output.data, opts.outputFile, opts.outputPointer);
  return { output: output.data, concerns: concerns.data, usage: usage === null ? null : usage.data, status };
}

/**
 * A completed output must match the stage's output_schema, suit its cascade rules, and give
 * every child an input its stage's input_schema accepts. Why the children here: once the
 * ticket is completed its output cannot be refused any more, and a child made from it would
 * sit in pending/ with an input its own stage rejects.
 */
export async function checkCompletedOutput(ctx: RunCtx, stage: string, output: JsonObject, outputFile?: string, outputPointer = ''): Promise<void> {
  const pipeline = ctx.config.pipeline;
  const where = { file: outputFile ?? 'output_data', pipelineFile: ctx.paths.runJson, runId: ctx.runId };
  await checkStageData(pipeline, stage, 'output', output, { ...where, pointer: outputPointer });
  const cascadeProblems = checkCascadeOutput(pipeline, stage, output);
  if (cascadeProblems.length > 0) {
    throw new TqError('INVALID_INPUT', `${outputFile ? `${outputFile}: ` : ''}${cascadeProblems.join('; ')}`, { ...(outputFile ? { file: outputFile } : {}), field: 'output_data' });
  }
  for (const child of childInputs(pipeline, stage, output)) {
    await checkStageData(pipeline, child.to, 'input', child.input, { ...where, pointer: outputPointer + child.pointer, field: 'output_data', subject: `${child.from}, the input of a ${child.to} ticket,` });
  }
}

/**
 * Submit a claimed ticket. Fenced: the move out of claimed/<worker>/ is the commit, and it
 * succeeds only while this worker's claim is current, and only if the ticket there is what its
 * location says (its content names this ticket, stage and worker). A refused submit keeps its
 * output in rejected/ and says why: LEASE_LOST (reaped, released or requeued), NOT_HOLDER (held
 * by another worker), ALREADY_DONE (a finished ticket is never replaced, except that repeating
 * the very submit that went through is safe and answered `repeated`), CORRUPT_TICKET (the file
 * was not the ticket: quarantined, and the ticket restored from registry/). A completed ticket
 * cascades inline.
 */
export async function submitTicket(ctx: RunCtx, opts: SubmitOptions): Promise<SubmitResult> {
  const loc = heldLocation(opts.ticketId, opts.workerId);
  const { ticketId, worker: workerId } = loc;
  const v = await validateSubmission(ctx, loc.stage, opts);
  const now = ctx.clock.now();

  const moved = await tryMoveHeldTicket(ctx, loc, opts.token, { state: v.status }, (t) => ({
    ...t,
    status: v.status,
    output_data: v.output,
    worker_concerns: [...t.worker_concerns, ...v.concerns.map((c) => ({ ...c, worker_id: workerId, at: now.toISOString() }))],
    usage: v.usage,
    completed_at: now.toISOString(),
    history: withHistory(t, { at: now.toISOString(), event: 'submitted', from: 'claimed', to: v.status, worker_id: workerId }),
  }));
  if (moved.moved) {
    const cascade = moved.ticket.status === 'completed' ? await cascadeTicket(ctx, moved.ticket) : undefined;
    return { ticket: moved.ticket, path: moved.path, ...(cascade ? { cascade } : {}), repeated: false };
  }
  const repeat = await findAppliedSubmit(ctx, ticketId, workerId, v.output, opts.token);
  if (repeat) {
    const cascade = repeat.status === 'completed' ? await cascadeTicket(ctx, repeat) : undefined;
    return { ticket: repeat, path: '', ...(cascade ? { cascade } : {}), repeated: true };
  }
  const check = { action: 'submit' as const, loc, ...(opts.token ? { token: opts.token } : {}), ...(moved.duplicate ? { duplicate: moved.duplicate } : {}), ...(moved.setAside ? { setAside: moved.setAside } : {}) };
  const why = await explainRefusal(ctx, check);
  const rejectedPath = await keepRejectedOutput(ctx, {
    ticket_id: ticketId,
    worker_id: workerId,
    token: opts.token ?? null,
    reason: `${why.code}: ${why.message}`,
    status: v.status,
    output_data: v.output,
    worker_concerns: v.concerns,
    usage: v.usage,
  });
  throw await refusalError(ctx, check, { refusal: why, data: { rejected_path: rejectedPath }, suffix: `; your output was kept in ${rejectedPath}` });
}

/** After a crash, a worker may submit again: if its result is already in place, say so. */
async function findAppliedSubmit(ctx: RunCtx, ticketId: string, workerId: string, output: JsonObject, token: string | undefined): Promise<Ticket | undefined> {
  for (const found of await locateAll(ctx, ticketId)) {
    if (found.state === 'pending' || found.state === 'claimed') continue;
    const t = await readTicketAt(ctx, found.path).catch(() => undefined);
    // Why the location check: only a finished copy that is what its place says can be "ours".
    if (!t || ticketLocationProblem(t, found.loc, found.path) || t.claim?.worker_id !== workerId) continue;
    if (token !== undefined && t.claim.token !== token.trim()) continue;
    if (JSON.stringify(t.output_data) === JSON.stringify(output)) return t;
  }
  return undefined;
}
