import { setTimeout as delay } from 'node:timers/promises';
import { createRunWatcher, type RunSnapshot } from '../../core/views/run-snapshot.js';
import type { RunCtx } from '../../core/store/run-context.js';
import { SCHEMA_VERSION } from '../../core/model/ticket-schema.js';
import type { CliIo } from '../io.js';
import { terminalStream } from './terminal-stream.js';
import { colorWanted, painter, renderTopFrame, renderTopLine } from './render-top.js';

export interface LiveViewOptions {
  intervalMs: number;
  /** Stop after this many snapshots (tests, scripts); undefined = until SIGINT. */
  count?: number;
  json: boolean;
  windowMs: number;
}

/**
 * Redraw a run's progress every interval: in place on a terminal (log-update), one plain line
 * per interval when piped, or one JSON object per interval with --json. Stops on SIGINT or
 * after `count` snapshots. Returns the last snapshot (the command's --json result).
 */
export async function runLiveView(ctx: RunCtx, io: CliIo, opts: LiveViewOptions): Promise<RunSnapshot> {
  const watcher = createRunWatcher(ctx, { windowMs: opts.windowMs });
  const stop = new AbortController();
  const onSigint = (): void => stop.abort();
  process.once('SIGINT', onSigint);
  // Why: loaded on use, so that every other command starts without it.
  const draw = io.isTTY && !opts.json ? (await import('log-update')).createLogUpdate(terminalStream(io)) : undefined;
  const paint = painter(colorWanted(io.env, io.isTTY));
  let last: RunSnapshot | undefined;
  try {
    for (let frame = 1; ; frame += 1) {
      last = await watcher.snapshot();
      const final = stop.signal.aborted || (opts.count !== undefined && frame >= opts.count);
      if (opts.json) {
        // The final snapshot is the command's result, printed once by main().
        if (!final) io.stdout(`${JSON.stringify({ schema_version: SCHEMA_VERSION, ...last })}\n`);
      } else if (draw) draw(renderTopFrame(last, paint, frame, opts.intervalMs));
      else io.stdout(`${renderTopLine(last)}\n`);
      if (final) break;
      try {
        await delay(opts.intervalMs, undefined, { signal: stop.signal });
      } catch {
        // Aborted by Ctrl-C: take one last snapshot so --json still ends with the latest state.
      }
    }
  } finally {
    process.removeListener('SIGINT', onSigint);
    // Why: leave the last frame on screen and give the cursor back.
    draw?.done();
  }
  return last;
}
