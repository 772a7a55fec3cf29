import { newTicketId } from './ids.js';
import type { Pipeline } from './pipeline.js';
import { sourceRefsOf } from './source-refs.js';
import type { JsonObject, Lineage, Ticket } from './ticket-schema.js';

export interface NewTicketFields {
  runId: string;
  stage: string;
  input: JsonObject;
  now: Date;
  pipeline: Pipeline;
  /** Deterministic id (cascade children); a fresh sortable id otherwise. */
  ticketId?: string;
  lineage?: Partial<Lineage>;
  event?: string;
  /** Claim priority (model/lanes.ts); 0 or undefined: the default, not written. */
  priority?: number;
  /** The input item's key (model/item-key.ts), for tickets made from input items. */
  itemKey?: string;
}

export function newTicket(f: NewTicketFields): Ticket {
  const ticketId = f.ticketId ?? newTicketId(f.stage, f.now);
  const at = f.now.toISOString();
  return {
    ticket_id: ticketId,
    run_id: f.runId,
    worker_type: f.stage,
    status: 'pending',
    input_data: f.input,
    output_data: null,
    worker_concerns: [],
    usage: null,
    attempts: 0,
    claim_count: 0,
    claim: null,
    ...(f.priority ? { priority: f.priority } : {}),
    lineage: {
      parents: f.lineage?.parents ?? [],
      root_id: f.lineage?.root_id ?? ticketId,
      source_refs: f.lineage?.source_refs ?? sourceRefsOf(f.pipeline, f.input),
      ...(f.lineage?.key !== undefined ? { key: f.lineage.key } : {}),
    },
    ...(f.itemKey !== undefined ? { item_key: f.itemKey } : {}),
    created_at: at,
    completed_at: null,
    history: [{ at, event: f.event ?? 'created', to: 'pending' }],
  };
}
