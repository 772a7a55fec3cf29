import { formatDuration } from '../core/model/duration.js';

/** A time people compare at a glance: "250ms", "1.5s", "2m30s". */
export function formatElapsed(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  if (ms < 60_000) return `${(Math.round(ms / 100) / 10).toFixed(1)}s`;
  return formatDuration(ms);
}
