import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TqError, isTqError } from '../core/model/errors.js';
import { checkAuth, isLoopbackHost, isLoopbackHostHeader } from './board-auth.js';
import { answerApi, type ApiContext } from './board-api.js';
import { BoardEvents } from './board-events.js';
import type { BoardOptions } from './board-options.js';
import { BoardRuns } from './board-runs.js';
import { routeOf } from './board-routes.js';
import { SECURITY_HEADERS, sendError, statusOfCode } from './http-reply.js';
import { StaticAssets, findAssetsDir } from './serve-static.js';

export type { BoardOptions } from './board-options.js';

export interface Board {
  /** http://host:port/ (the port the system gave when 0 was asked). */
  url: string;
  port: number;
  close(): Promise<void>;
}

interface Served {
  opts: BoardOptions;
  api: ApiContext;
  events: BoardEvents;
  assets: StaticAssets;
}

async function answer(req: IncomingMessage, res: ServerResponse, s: Served): Promise<void> {
  const rawPath = (req.url ?? '/').split('?')[0] ?? '/';
  const url = new URL(req.url ?? '/', 'http://board.invalid');
  const auth = checkAuth(req, url, s.opts.token);
  if (!auth.ok) return sendError(res, 401, 'UNAUTHORIZED', 'this board needs its token: open the address `tq board` printed (with ?token=)');
  if (s.opts.token === undefined && !isLoopbackHostHeader(req)) return sendError(res, 403, 'FORBIDDEN', 'this board answers only requests addressed to 127.0.0.1 or localhost');
  if (auth.setCookie !== undefined) res.setHeader('set-cookie', auth.setCookie);
  const route = routeOf(req.method ?? 'GET', rawPath);
  const head = req.method === 'HEAD';
  switch (route.kind) {
    case 'error':
      return sendError(res, route.status, route.status === 404 ? 'NOT_FOUND' : 'BAD_REQUEST', route.message);
    case 'page':
      return s.assets.send(res, 'index.html', head);
    case 'no-content':
      res.writeHead(204, SECURITY_HEADERS);
      return void res.end();
    case 'asset':
      return s.assets.send(res, route.name, head);
    case 'events':
      return s.events.subscribe(res);
    default:
      return answerApi(req, res, url, route, s.api);
  }
}

function onRequest(s: Served): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    answer(req, res, s).catch((err: unknown) => {
      if (res.headersSent) return void res.end();
      if (isTqError(err)) return sendError(res, statusOfCode(err.code), err.code, err.message);
      sendError(res, 500, 'INTERNAL', 'the board could not answer (see its terminal)');
      process.stderr.write(`tq board: ${String((err as Error)?.stack ?? err)}\n`);
    });
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const why = err.code === 'EADDRINUSE' ? `port ${port} is in use on ${host}` : `cannot listen on ${host}:${port}: ${err.code ?? err.message}`;
      reject(new TqError('IO_ERROR', why, { hint: 'pass another --port (0: any free port)', cause: err }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/**
 * Serve the board: the page, its JSON API and the event stream, reading the runs under
 * `opts.root` through the same views and operations as the CLI. A host other than loopback
 * without a token is refused here too, whatever the caller checked.
 */
export async function startBoard(opts: BoardOptions): Promise<Board> {
  if (!isLoopbackHost(opts.host) && (opts.token === undefined || opts.token === '')) {
    throw new TqError('USAGE', `--host ${opts.host} is not loopback: the board needs a --token there`, { field: 'token' });
  }
  const runs = new BoardRuns(opts.root);
  const events = new BoardEvents(opts.root, runs, opts.rescanMs ?? 2000);
  const served: Served = { opts, api: { runs, allowActions: opts.allowActions }, events, assets: new StaticAssets(opts.assetsDir ?? findAssetsDir()) };
  const server = createServer(onRequest(served));
  await listen(server, opts.port, opts.host);
  await events.start();
  const port = (server.address() as AddressInfo).port;
  const hostInUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${hostInUrl}:${port}/`,
    port,
    close: async () => {
      events.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
