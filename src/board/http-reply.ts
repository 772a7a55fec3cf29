import type { ServerResponse } from 'node:http';
import { ERROR_CODES, type ErrorCode } from '../core/model/errors.js';

/**
 * On every answer. Why this CSP: the page is one script and one style sheet of our own; no inline
 * script, no eval, nothing from elsewhere, so even a ticket's text that slipped into the markup
 * could not run.
 */
export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

export function sendJson(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...extra });
  res.end(text);
}

export function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: { code, message } });
}

/** The HTTP status for a TqError code: a bad id 400, nothing there 404, a ticket in another state 409. */
export function statusOfCode(code: ErrorCode): number {
  if (code === 'NOT_FOUND' || code === 'RUN_NOT_FOUND') return 404;
  if (ERROR_CODES[code] === 2) return 400;
  if (code === 'WRONG_STATE' || code === 'ALREADY_DONE' || code === 'LEASE_LOST' || code === 'NOT_HOLDER') return 409;
  if (code === 'UNSAFE_PATH') return 403;
  return 500;
}
