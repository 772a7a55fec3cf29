import type { IncomingMessage, ServerResponse } from 'node:http';
import { buildRunGraph } from '../core/views/run-graph.js';
import { runStatus } from '../core/views/list-tickets.js';
import { collectRunStats } from '../core/views/run-stats.js';
import { ACTION_HEADER } from './board-auth.js';
import { runBoardAction } from './board-actions.js';
import type { BoardRuns } from './board-runs.js';
import type { Route } from './board-routes.js';
import { sendError, sendJson } from './http-reply.js';
import { queryTickets, ticketQueryOf } from './query-tickets.js';
import { ticketDetails } from './ticket-details.js';

export interface ApiContext {
  runs: BoardRuns;
  allowActions: boolean;
}

/** Every run's snapshot (what `tq top` shows), for the overview; a run that cannot be read says why. */
async function overview(runs: BoardRuns): Promise<unknown> {
  const ids = await runs.runIds();
  const items = await Promise.all(
    ids.map(async (run_id) => {
      try {
        return { run_id, snapshot: await runs.snapshot(run_id) };
      } catch (err) {
        return { run_id, error: (err as Error).message };
      }
    }),
  );
  return { at: new Date().toISOString(), runs: items };
}

/**
 * Actions change the run: only when the board was started with them, and only from the page
 * (its header; a form or a link from another site cannot send one). Undefined: go on.
 */
function actionRefusal(req: IncomingMessage, api: ApiContext): string | undefined {
  if (!api.allowActions) return 'the board is read-only: start it with --allow-actions';
  if (req.headers[ACTION_HEADER] !== '1') return `an action needs the header ${ACTION_HEADER}: 1`;
  return undefined;
}

type ApiRoute = Exclude<Route, { kind: 'page' | 'asset' | 'events' | 'no-content' }>;

/** Answer one API route with JSON (errors are thrown as TqError and mapped by the server). */
export async function answerApi(req: IncomingMessage, res: ServerResponse, url: URL, route: ApiRoute, api: ApiContext): Promise<void> {
  const { runs } = api;
  switch (route.kind) {
    case 'config':
      return sendJson(res, 200, { allow_actions: api.allowActions });
    case 'runs':
      return sendJson(res, 200, await overview(runs));
    case 'run': {
      // Why runStatus (listings only), not the snapshot: the run page must not wait for every
      // finished ticket of a big run to be read before it can draw its columns.
      const ctx = await runs.ctx(route.run);
      return sendJson(res, 200, { run_id: route.run, stages: Object.keys(ctx.config.pipeline.stages), status: await runStatus(ctx) });
    }
    case 'tickets':
      return sendJson(res, 200, await queryTickets(runs, route.run, ticketQueryOf(url.searchParams)));
    case 'ticket':
      return sendJson(res, 200, await ticketDetails(await runs.ctx(route.run), route.ticket));
    case 'graph':
      return sendJson(res, 200, await buildRunGraph(await runs.ctx(route.run)));
    case 'stats':
      return sendJson(res, 200, await collectRunStats(await runs.ctx(route.run)));
    case 'action': {
      const refusal = actionRefusal(req, api);
      if (refusal !== undefined) return sendError(res, 403, 'FORBIDDEN', refusal);
      const result = await runBoardAction(await runs.ctx(route.run), route.action, route.ticket);
      runs.touch(route.run);
      return sendJson(res, 200, { action: route.action, ticket_id: route.ticket, result });
    }
  }
}
