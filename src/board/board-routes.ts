import { validateId } from '../core/model/ids.js';
import { isTqError } from '../core/model/errors.js';

export const BOARD_ACTIONS = ['approve', 'requeue', 'release'] as const;
export type BoardAction = (typeof BOARD_ACTIONS)[number];

/** The static files of the page; nothing else on disk is ever served. */
export const ASSET_NAMES = ['board.js', 'board.css'] as const;
export type AssetName = (typeof ASSET_NAMES)[number];

export type Route =
  | { kind: 'page' }
  | { kind: 'no-content' }
  | { kind: 'asset'; name: AssetName }
  | { kind: 'config' }
  | { kind: 'events' }
  | { kind: 'runs' }
  | { kind: 'run'; run: string }
  | { kind: 'tickets'; run: string }
  | { kind: 'ticket'; run: string; ticket: string }
  | { kind: 'graph'; run: string }
  | { kind: 'stats'; run: string }
  | { kind: 'action'; run: string; ticket: string; action: BoardAction };

export interface RouteError {
  kind: 'error';
  status: 400 | 404 | 405;
  message: string;
}

const refuse = (status: RouteError['status'], message: string): RouteError => ({ kind: 'error', status, message });

/**
 * Split a raw request path into decoded segments. Why on the raw path and each decoded segment:
 * `..` may come as `%2e%2e` or `..%2F..`; a segment that decodes to something with a slash,
 * a backslash, a NUL or `..` is refused before any id check, so no URL names a path.
 */
export function pathSegments(rawPath: string): string[] | RouteError {
  if (!rawPath.startsWith('/')) return refuse(400, 'the path must start with /');
  const segments: string[] = [];
  for (const raw of rawPath.slice(1).split('/')) {
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      return refuse(400, 'the path is not valid percent-encoding');
    }
    if (seg.includes('..') || /[\\/\0]/.test(seg)) return refuse(400, 'the path has a forbidden segment');
    segments.push(seg);
  }
  return segments[segments.length - 1] === '' ? segments.slice(0, -1) : segments;
}

function checkedId(text: string | undefined, kind: 'run id' | 'ticket id'): string | RouteError {
  try {
    validateId(text ?? '', kind);
    return text as string;
  } catch (err) {
    if (isTqError(err)) return refuse(400, err.message);
    throw err;
  }
}

/** The page's own addresses (one HTML page that reads its route from the address). */
function pageRoute(seg: string[]): Route | RouteError {
  if (seg.length === 0) return { kind: 'page' };
  if (seg[0] !== 'run' || seg.length < 2 || seg.length > 4) return refuse(404, 'no such page');
  const run = checkedId(seg[1], 'run id');
  if (typeof run !== 'string') return run;
  if (seg.length === 2) return { kind: 'page' };
  if (seg.length === 3 && seg[2] === 'graph') return { kind: 'page' };
  if (seg.length === 4 && seg[2] === 'ticket') {
    const ticket = checkedId(seg[3], 'ticket id');
    return typeof ticket === 'string' ? { kind: 'page' } : ticket;
  }
  return refuse(404, 'no such page');
}

function runApiRoute(seg: string[], method: string): Route | RouteError {
  const run = checkedId(seg[2], 'run id');
  if (typeof run !== 'string') return run;
  const rest = seg.slice(3);
  if (rest.length === 0) return { kind: 'run', run };
  if (rest.length === 1 && (rest[0] === 'graph' || rest[0] === 'stats' || rest[0] === 'tickets')) return { kind: rest[0], run };
  if (rest[0] !== 'tickets' || rest.length > 3) return refuse(404, 'no such API');
  const ticket = checkedId(rest[1], 'ticket id');
  if (typeof ticket !== 'string') return ticket;
  if (rest.length === 2) return { kind: 'ticket', run, ticket };
  const action = BOARD_ACTIONS.find((a) => a === rest[2]);
  if (action === undefined) return refuse(404, 'no such action');
  if (method !== 'POST') return refuse(405, `${action} takes a POST`);
  return { kind: 'action', run, ticket, action };
}

/** What a request asks for, or why it is refused (400: a bad id or path, 404: nothing there). */
export function routeOf(method: string, rawPath: string): Route | RouteError {
  const seg = pathSegments(rawPath);
  if (!Array.isArray(seg)) return seg;
  if (seg[0] === 'assets' && seg.length === 2) {
    const name = ASSET_NAMES.find((n) => n === seg[1]);
    return name !== undefined ? { kind: 'asset', name } : refuse(404, 'no such asset');
  }
  // Why: browsers ask for it on every page; answered empty rather than logged as a 404.
  if (seg.length === 1 && seg[0] === 'favicon.ico') return { kind: 'no-content' };
  if (seg[0] !== 'api') return method === 'GET' || method === 'HEAD' ? pageRoute(seg) : refuse(405, 'pages take a GET');
  const isAction = seg.length === 6 && seg[1] === 'runs';
  if (!isAction && method !== 'GET' && method !== 'HEAD') return refuse(405, 'the API is read with GET');
  if (seg.length === 2 && seg[1] === 'config') return { kind: 'config' };
  if (seg.length === 2 && seg[1] === 'events') return { kind: 'events' };
  if (seg.length === 2 && seg[1] === 'runs') return { kind: 'runs' };
  if (seg[1] === 'runs' && seg.length >= 3) return runApiRoute(seg, method);
  return refuse(404, 'no such API');
}
