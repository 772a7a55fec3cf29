import { TqError } from './errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parse "90s", "10m", "1h30m", "500ms" or a bare number of seconds into milliseconds. */
export function parseDuration(input: string | number, field = 'duration'): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input <= 0) throw badDuration(String(input), field);
    return Math.round(input * 1000);
  }
  const text = input.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return parseDuration(Number(text), field);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? 0);
    matched = re.lastIndex;
  }
  if (matched !== text.length || text.length === 0 || total <= 0) throw badDuration(text, field);
  return Math.round(total);
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
