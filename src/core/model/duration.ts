import { TqError } from './errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * The longest duration accepted anywhere (leases, intervals, windows), as text and in ms.
 * Why: a duration is added to the clock to make a Date; past ±8.64e15 ms that Date is invalid
 * and every claim, reap and fsck of the run would crash with "Invalid time value". A lease
 * longer than a month is a typo or a hostile edit, not a plan.
 */
export const MAX_DURATION = '30d';
export const MAX_DURATION_MS = 30 * 86_400_000;

/**
 * Parse "90s", "10m", "1h30m", "500ms" or a bare number of seconds into milliseconds; refuse
 * anything over MAX_DURATION (the error names `field`). Zero ("0", "0s") only with
 * `opts.zero` (for waits that may be skipped, e.g. a settle time); never negative.
 */
export function parseDuration(input: string | number, field = 'duration', opts: { zero?: boolean } = {}): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0 || (input === 0 && opts.zero !== true)) throw badDuration(String(input), field);
    return capped(Math.round(input * 1000), String(input), field);
  }
  const text = input.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return parseDuration(Number(text), field, opts);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? 0);
    matched = re.lastIndex;
  }
  if (matched !== text.length || text.length === 0 || (total <= 0 && !(total === 0 && opts.zero === true))) throw badDuration(text, field);
  return capped(Math.round(total), text, field);
}

function capped(ms: number, text: string, field: string): number {
  if (ms > MAX_DURATION_MS) {
    throw new TqError('USAGE', `${field} "${text}" is over the ${MAX_DURATION} limit`, {
      field,
      hint: `durations are at most ${MAX_DURATION}; for long work, take a shorter lease and heartbeat to extend it`,
    });
  }
  return ms;
}

function badDuration(text: string, field: string): TqError {
  return new TqError('USAGE', `${field}: "${text}" is not a duration`, {
    field,
    hint: 'write it like 90s, 10m, 1h30m or 500ms',
  });
}

export function formatDuration(ms: number): string {
  const sign = ms < 0 ? '-' : '';
  let rest = Math.abs(Math.round(ms / 1000));
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  const s = rest - m * 60;
  if (h > 0) return `${sign}${h}h${m > 0 ? `${m}m` : ''}`;
  if (m > 0) return `${sign}${m}m${s > 0 ? `${s}s` : ''}`;
  return `${sign}${s}s`;
}
