import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The cookie the board sets once a request has shown the token in `?token=`. */
export const TOKEN_COOKIE = 'tq_board_token';
/** Actions must carry this header: a cross-site form or image cannot set it (no CORS is answered). */
export const ACTION_HEADER = 'x-tq-board';

export function isLoopbackHost(host: string): boolean {
  return host === '127.0.0.1' || host === '::1' || host === 'localhost';
}

export function newBoardToken(): string {
  return randomBytes(24).toString('base64url');
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieToken(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === TOKEN_COOKIE) return rest.join('=');
  }
  return undefined;
}

function bearerToken(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  return typeof h === 'string' && h.startsWith('Bearer ') ? h.slice('Bearer '.length).trim() : undefined;
}

export type AuthOutcome = { ok: true; setCookie?: string } | { ok: false };

/**
 * Does the request carry the board's token? In the Authorization header, the cookie, or once in
 * `?token=` (then a cookie is set, so the page's own requests and links need no token in them).
 * Without a configured token every request passes (loopback only: the CLI refuses otherwise).
 */
export function checkAuth(req: IncomingMessage, url: URL, token: string | undefined): AuthOutcome {
  if (token === undefined) return { ok: true };
  const given = [bearerToken(req), cookieToken(req)];
  if (given.some((t) => t !== undefined && sameSecret(t, token))) return { ok: true };
  const inQuery = url.searchParams.get('token');
  if (inQuery !== null && sameSecret(inQuery, token)) {
    return { ok: true, setCookie: `${TOKEN_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/` };
  }
  return { ok: false };
}

/**
 * Why: a page on another site can make a browser send requests to 127.0.0.1 under a host name it
 * controls (DNS rebinding). A board without a token answers only requests addressed to a
 * loopback name.
 */
export function isLoopbackHostHeader(req: IncomingMessage): boolean {
  const host = req.headers.host ?? '';
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : (host.split(':')[0] ?? '');
  return name === '127.0.0.1' || name === 'localhost' || name === '[::1]';
}
