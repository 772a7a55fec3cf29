/**
 * The demo's agent as a program for `tq work` (the real way to run one):
 *   tq work <run> --stage translate -- node dist/demo/demo-agent.js
 * Reads the ticket's input_data on stdin, prints the output JSON on stdout, and hands its
 * concerns and usage back through the files $TQ_CONCERNS and $TQ_USAGE.
 */
import { appendFile, writeFile } from 'node:fs/promises';
import { text } from 'node:stream/consumers';
import { fileURLToPath } from 'node:url';
import { doWork, type Json } from './agent-work.js';

async function main(): Promise<void> {
  const stage = process.env.TQ_STAGE ?? '';
  const ticketId = process.env.TQ_TICKET_ID ?? '';
  const input = JSON.parse(await text(process.stdin)) as Json;
  const work = doWork(stage, input, ticketId);
  const concerns = process.env.TQ_CONCERNS;
  if (concerns) for (const c of work.concerns) await appendFile(concerns, `${JSON.stringify(c)}\n`);
  if (process.env.TQ_USAGE) await writeFile(process.env.TQ_USAGE, JSON.stringify(work.usage));
  process.stderr.write(`${stage} ${ticketId}: ${work.concerns.length} concern(s)\n`);
  process.stdout.write(`${JSON.stringify(work.output)}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    process.stderr.write(`demo agent: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
