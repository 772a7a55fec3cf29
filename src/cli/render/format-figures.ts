import { formatDuration } from '../../core/model/duration.js';

/** 1234 -> "1.2k", 1_500_000 -> "1.5M": token counts people can compare at a glance. */
export function formatCount(n: number): string {
  if (n < 1000) return String(Math.round(n));
  if (n < 1_000_000) return `${trim1(n / 1000)}k`;
  return `${trim1(n / 1_000_000)}M`;
}

function trim1(n: number): string {
  return n >= 100 ? String(Math.round(n)) : n.toFixed(1).replace(/\.0$/, '');
}

export function formatUsd(n: number): string {
  if (n === 0) return '-';
  return n < 0.01 ? `$${n.toFixed(4)}` : `$${n.toFixed(2)}`;
}

export function formatMs(ms: number | null): string {
  if (ms === null) return '-';
  if (ms > 0 && ms < 1000) return `${Math.round(ms)}ms`;
  return formatDuration(ms);
}

export function formatRate(perHour: number | null): string {
  if (perHour === null) return '-';
  return perHour >= 100 ? String(Math.round(perHour)) : perHour.toFixed(1);
}
