import { join } from 'node:path';
import { nonce } from '../model/ids.js';
import type { RunCtx } from './run-context.js';
import { writeFileAtomic } from './atomic-write.js';
import { rejectedFileName } from './run-names.js';
import { runRelText } from './run-paths.js';
import type { Concern, JsonObject, Usage } from '../model/ticket-schema.js';

export interface RejectedOutput {
  ticket_id: string;
  worker_id: string;
  token: string | null;
  reason: string;
  rejected_at: string;
  status: string;
  output_data: JsonObject | null;
  worker_concerns: Concern[];
  usage: Usage | null;
}

/**
 * Keep a refused result (late submit after a reap, a release or a requeue) in rejected/, so
 * the work is never lost and `tq show` / `tq concerns` can still find it.
 */
export async function keepRejectedOutput(ctx: RunCtx, record: Omit<RejectedOutput, 'rejected_at'>): Promise<string> {
  const path = join(ctx.paths.rejected, rejectedFileName(record.ticket_id, nonce()));
  // Why relative: the record is part of the run, which may be cloned or moved.
  const full: RejectedOutput = { ...record, reason: runRelText(ctx.paths, record.reason), rejected_at: ctx.clock.now().toISOString() };
  await writeFileAtomic(ctx, path, `${JSON.stringify(full, null, 2)}\n`);
  return path;
}
