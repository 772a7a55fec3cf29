/**
 * ticketq as the bench sees it: the built library (npm run build writes ../dist), plus the
 * few internals the run generator needs to write byte-identical ticket files.
 */
export { openRun, createRun, addTickets, itemsOf, claimTicket, submitTicket, runStatus, listTickets, type RunCtx } from '../../dist/index.js';
export { newTicket } from '../../dist/core/model/new-ticket.js';
export { serializeTicket } from '../../dist/core/model/serialize-ticket.js';
export { childTicketId, newTicketId } from '../../dist/core/model/ids.js';
export { claimedVersion } from '../../dist/core/ops/claim-ticket.js';

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (bench/dist/ticketq.js -> ../..). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const TQ_BIN = join(REPO_ROOT, 'bin', 'tq.js');
