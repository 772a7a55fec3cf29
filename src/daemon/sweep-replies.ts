import { join } from 'node:path';
import { unlinkIfExists } from '../core/store/atomic-write.js';
import { parseReplyFileName } from '../core/store/run-names.js';
import { readReply } from './answer-agent.js';
import { nowMs, type DaemonRun } from './daemon-run.js';

/**
 * Replies to uniquely named requests (`requests/<worker>~<request_id>.reply.json`) are removed by
 * the agent once read; those it leaves are removed by the daemon this long after their `at`.
 * Why judged by `at` (the daemon's clock, written in the reply) and never by mtime: the mtime is
 * the file server's clock, and on another host that may be minutes off.
 */
export const REPLY_TTL_MS = 10 * 60_000;
/** Replies read by one sweep; a bigger pile drains over the next sweeps. */
export const REPLIES_CHECKED_PER_SWEEP = 256;
/** How often a run's replies are swept (a scan of requests/ runs every poll). */
const SWEEP_EVERY_MS = 60_000;

const sweeps = new WeakMap<DaemonRun, { lastMs: number; checked: number }>();

/** A sweep of `run`'s replies, when one is due: how many replies it may still read. */
export function startReplySweep(run: DaemonRun): { budget: number } | undefined {
  const now = nowMs(run);
  const last = sweeps.get(run);
  if (last !== undefined && now - last.lastMs < SWEEP_EVERY_MS) return undefined;
  sweeps.set(run, { lastMs: now, checked: 0 });
  return { budget: REPLIES_CHECKED_PER_SWEEP };
}

/** Is `name` a reply the sweep looks at (a uniquely named one: the deprecated names are reused, so never removed)? */
export function isSweptReplyName(name: string): boolean {
  return parseReplyFileName(name)?.rawRequestId !== undefined;
}

/** Remove reply `name` when its `at` is older than REPLY_TTL_MS. True when removed. */
export async function sweepReply(run: DaemonRun, sweep: { budget: number }, name: string): Promise<boolean> {
  if (sweep.budget <= 0) return false;
  sweep.budget -= 1;
  const at = Date.parse(String((await readReply(run, name))?.at ?? ''));
  // Why keep a reply without a readable `at`: it is not one the daemon wrote (or is being replaced).
  if (!Number.isFinite(at) || nowMs(run) - at < REPLY_TTL_MS) return false;
  await unlinkIfExists(run.ctx, join(run.ctx.paths.requests, name));
  run.log({ action: 'reply removed', file: `requests/${name}`, note: `unread ${Math.round((nowMs(run) - at) / 60_000)} minutes after it was written` });
  return true;
}
