import { Writable } from 'node:stream';
import type { CliIo } from '../io.js';

/** log-update wants a stream; this one forwards to the CLI's io and reports the terminal size. */
export function terminalStream(io: CliIo): Writable {
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      io.stdout(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
      done();
    },
  });
  // Why: a terminal of unknown size (a fresh pty reports 0x0) would make log-update print nothing.
  return Object.assign(stream, { isTTY: true, columns: process.stdout.columns || 100, rows: process.stdout.rows || 40 });
}
