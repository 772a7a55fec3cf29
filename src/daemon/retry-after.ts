/** The mean wait a reply `empty` or `paused` asks of a file-only agent before its next request (ms). */
export const RETRY_AFTER_MS = 2000;

/**
 * The `retry_after_ms` of a reply that had nothing to give: RETRY_AFTER_MS spread uniformly over
 * ±50%. Why the spread: agents told "ask again later" at the same moment (a fleet started
 * together, or all answered by one rescan on a polled network filesystem) would otherwise ask
 * again in lockstep, and every rescan would meet a flood of requests followed by silence.
 * `random` is injectable (tests).
 */
export function retryAfterMs(random: () => number = Math.random): number {
  return Math.round(RETRY_AFTER_MS * (0.5 + random()));
}
