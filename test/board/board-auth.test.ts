import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { TOKEN_COOKIE, checkAuth, isLoopbackHost, isLoopbackHostHeader, newBoardToken } from '../../src/board/board-auth.js';

function req(headers: Record<string, string>): IncomingMessage {
  return { headers } as unknown as IncomingMessage;
}
const url = (q = ''): URL => new URL(`http://h/api/runs${q}`);

describe('board token', () => {
  const token = newBoardToken();

  it('passes everything when no token is set (loopback only)', () => {
    expect(checkAuth(req({}), url(), undefined)).toEqual({ ok: true });
  });

  it('refuses a request without the token, or with a wrong one', () => {
    expect(checkAuth(req({}), url(), token)).toEqual({ ok: false });
    expect(checkAuth(req({ authorization: 'Bearer nope' }), url(), token)).toEqual({ ok: false });
    expect(checkAuth(req({ cookie: `${TOKEN_COOKIE}=nope` }), url('?token=nope'), token)).toEqual({ ok: false });
  });

  it('accepts the header, the cookie, or ?token= (which sets the cookie)', () => {
    expect(checkAuth(req({ authorization: `Bearer ${token}` }), url(), token)).toEqual({ ok: true });
    expect(checkAuth(req({ cookie: `a=b; ${TOKEN_COOKIE}=${token}` }), url(), token)).toEqual({ ok: true });
    const viaQuery = checkAuth(req({}), url(`?token=${token}`), token);
    expect(viaQuery).toMatchObject({ ok: true, setCookie: expect.stringContaining(`${TOKEN_COOKIE}=${token}; HttpOnly; SameSite=Strict`) as unknown });
  });

  it('generates long random tokens', () => {
    expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(newBoardToken()).not.toBe(token);
  });

  it('knows loopback hosts and Host headers', () => {
    expect(['127.0.0.1', '::1', 'localhost'].every(isLoopbackHost)).toBe(true);
    expect(isLoopbackHost('0.0.0.0')).toBe(false);
    expect(isLoopbackHostHeader(req({ host: '127.0.0.1:7337' }))).toBe(true);
    expect(isLoopbackHostHeader(req({ host: '[::1]:7337' }))).toBe(true);
    expect(isLoopbackHostHeader(req({ host: 'localhost' }))).toBe(true);
    expect(isLoopbackHostHeader(req({ host: 'evil.example:7337' }))).toBe(false);
    expect(isLoopbackHostHeader(req({}))).toBe(false);
  });
});
