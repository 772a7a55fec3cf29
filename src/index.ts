/** ticketq library API. The CLI is a thin layer over exactly these functions. */
export { TqError, ERROR_CODES, isTqError, type ErrorCode } from './core/model/errors.js';
export { TicketState, ALL_STATES, CONCERN_LEVELS, type ConcernLevel, type SubmitState } from './core/model/states.js';
export { Ticket, Concern, Usage, Claim, Lineage, SCHEMA_VERSION } from './core/model/ticket-schema.js';
export { Pipeline, StageConfig, CascadeRule, parsePipeline } from './core/model/pipeline.js';
export { systemClock, fixedClock, type Clock } from './core/model/clock.js';
export { nodeFs, type Fs } from './core/store/fs-layer.js';
export { openRun, type RunCtx, type RunOptions, type Durability } from './core/store/run-context.js';
// Why the env as a parameter: core reads no environment; pass process.env for tq's own defaults.
export { defaultRoot, durabilityFromEnv } from './cli/env-settings.js';
export { createRun, type CreateRunOptions } from './core/ops/create-run.js';
export { createOrResumeRun, type CreateOrResumeOptions, type CreateOrResumeResult } from './core/ops/create-or-resume-run.js';
export { addTickets, entryStage, itemsOf, type AddResult } from './core/ops/add-tickets.js';
export { readInputItems } from './core/ops/read-input.js';
export { claimTicket, type ClaimOptions, type ClaimResult } from './core/ops/claim-ticket.js';
export { submitTicket, type SubmitOptions, type SubmitResult } from './core/ops/submit-ticket.js';
export { heartbeatTicket, releaseTicket } from './core/ops/worker-moves.js';
export { approveTicket, requeueTicket } from './core/ops/review-moves.js';
export { reapExpired, type ReapAction } from './core/ops/reap-claims.js';
export { cascadeTicket, type CascadeMarker } from './core/ops/cascade-ticket.js';
export { listTickets, runStatus, listRuns, type TicketEntry, type RunStatus } from './core/views/list-tickets.js';
export { showTicket, type TicketView } from './core/views/show-ticket.js';
export { collectConcerns, type ConcernReport, type ConcernRow } from './core/views/collect-concerns.js';
export { fsckRun, type FsckReport, type FsckProblem } from './core/fsck/fsck-run.js';
export { recoverMoving } from './core/protocol/recover-moving.js';
export { parseDuration, formatDuration } from './core/model/duration.js';
export { startDaemon, type Daemon, type DaemonOptions } from './daemon/start-daemon.js';
export { commitRun, type CommitRunOptions } from './core/ops/commit-run.js';
