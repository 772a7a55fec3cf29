import { describe, expect, it } from 'vitest';
import { pathSegments, routeOf } from '../../src/board/board-routes.js';

describe('board routes', () => {
  it.each([
    '/ticket/../../etc/passwd',
    '/run/../../etc/passwd',
    '/api/runs/x/tickets/..%2F..%2Fetc%2Fpasswd',
    '/api/runs/%2e%2e/tickets',
    '/api/runs/x/tickets/a%5Cb',
    '/api/runs/x%00/tickets',
    '/assets/..%2Fpackage.json',
    '/run/%E0%A4%A/graph',
  ])('refuses %s with 400 before any id reaches a path', (path) => {
    const r = routeOf('GET', path);
    expect(r).toMatchObject({ kind: 'error', status: 400 });
  });

  it('refuses ids that the core would refuse (validateId)', () => {
    expect(routeOf('GET', '/api/runs/.hidden')).toMatchObject({ kind: 'error', status: 400 });
    expect(routeOf('GET', `/api/runs/r/tickets/${'a'.repeat(200)}`)).toMatchObject({ kind: 'error', status: 400 });
    expect(routeOf('GET', '/run/r/ticket/-x')).toMatchObject({ kind: 'error', status: 400 });
  });

  it('routes the API, the pages and the two assets', () => {
    expect(routeOf('GET', '/api/runs')).toEqual({ kind: 'runs' });
    expect(routeOf('GET', '/api/events')).toEqual({ kind: 'events' });
    expect(routeOf('GET', '/api/runs/gallia')).toEqual({ kind: 'run', run: 'gallia' });
    expect(routeOf('GET', '/api/runs/gallia/tickets')).toEqual({ kind: 'tickets', run: 'gallia' });
    expect(routeOf('GET', '/api/runs/gallia/graph')).toEqual({ kind: 'graph', run: 'gallia' });
    expect(routeOf('GET', '/api/runs/gallia/stats')).toEqual({ kind: 'stats', run: 'gallia' });
    expect(routeOf('GET', '/api/runs/gallia/tickets/parse-1')).toEqual({ kind: 'ticket', run: 'gallia', ticket: 'parse-1' });
    expect(routeOf('POST', '/api/runs/gallia/tickets/parse-1/approve')).toEqual({ kind: 'action', run: 'gallia', ticket: 'parse-1', action: 'approve' });
    for (const page of ['/', '/run/gallia', '/run/gallia/', '/run/gallia/graph', '/run/gallia/ticket/parse-1']) expect(routeOf('GET', page)).toEqual({ kind: 'page' });
    expect(routeOf('GET', '/assets/board.js')).toEqual({ kind: 'asset', name: 'board.js' });
    expect(routeOf('GET', '/assets/index.ts')).toMatchObject({ kind: 'error', status: 404 });
    expect(routeOf('GET', '/etc/passwd')).toMatchObject({ kind: 'error', status: 404 });
  });

  it('actions take a POST; everything else a GET', () => {
    expect(routeOf('GET', '/api/runs/gallia/tickets/parse-1/approve')).toMatchObject({ kind: 'error', status: 405 });
    expect(routeOf('POST', '/api/runs/gallia/tickets/parse-1/delete')).toMatchObject({ kind: 'error', status: 404 });
    expect(routeOf('POST', '/api/runs')).toMatchObject({ kind: 'error', status: 405 });
    expect(routeOf('POST', '/run/gallia')).toMatchObject({ kind: 'error', status: 405 });
  });

  it('decodes each segment once', () => {
    expect(pathSegments('/api/runs/a%2Db')).toEqual(['api', 'runs', 'a-b']);
    expect(pathSegments('/a/%2e%2e')).toMatchObject({ kind: 'error' });
  });
});
