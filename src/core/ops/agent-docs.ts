import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../store/atomic-write.js';
import { ClaimReplyFile, ClaimRequest, ResultFile } from '../model/file-protocol-schema.js';
import { DEFAULT_LEASE, DEFAULT_MAX_ATTEMPTS, type Pipeline } from '../model/pipeline.js';
import type { RunCtx } from '../store/run-context.js';
import { Ticket } from '../model/ticket-schema.js';
import { schemaFileName } from '../store/run-names.js';

function schemaText(schema: z.ZodType, title: string): string {
  const json = z.toJSONSchema(schema, { unrepresentable: 'any', io: 'input' }) as Record<string, unknown>;
  return `${JSON.stringify({ title, ...json }, null, 2)}\n`;
}

/** JSON Schemas describing every file a worker reads or writes in this run. */
export function agentSchemas(pipeline: Pipeline): Record<string, string> {
  const files: Record<string, string> = {
    [schemaFileName('ticket')]: schemaText(Ticket, 'ticketq ticket'),
    [schemaFileName('request')]: schemaText(ClaimRequest, 'ticketq claim request (requests/<worker-id>~<request-id>.json)'),
    [schemaFileName('reply')]: schemaText(ClaimReplyFile, 'ticketq claim reply (requests/<worker-id>~<request-id>.reply.json, written by the daemon)'),
    [schemaFileName('result')]: schemaText(ResultFile, 'ticketq result (claimed/<worker-id>/<ticket-id>~<tag>.result.json)'),
  };
  for (const [stage, cfg] of Object.entries(pipeline.stages)) {
    for (const which of ['input', 'output'] as const) {
      const schema = which === 'input' ? cfg.input_schema : cfg.output_schema;
      const doc = schema ?? { type: 'object', description: `any JSON object (the pipeline sets no ${which}_schema for ${stage})` };
      files[schemaFileName(`${stage}.${which}`)] = `${JSON.stringify({ title: `${stage} ${which}_data`, ...doc }, null, 2)}\n`;
    }
  }
  return files;
}

/** One line per stage for AGENTS.md: lease, attempts, description, what follows, schemas. */
function stageSummaryLines(pipeline: Pipeline): string {
  return Object.entries(pipeline.stages)
    .map(([name, cfg]) => {
      const outs = pipeline.cascade.filter((r) => r.from === name);
      const next = outs.length === 0 ? 'nothing follows' : outs.map((r) => (r.for_each ? `one \`${r.to}\` ticket per element of \`output_data.${r.for_each}\`${r.key ? ` (de-duplicated by \`${r.key}\`)` : ''}` : `one \`${r.to}\` ticket whose input is your output_data`)).join('; ');
      return `- **${name}**: lease ${cfg.lease ?? DEFAULT_LEASE}, ${cfg.max_attempts ?? DEFAULT_MAX_ATTEMPTS} attempts. ${cfg.description ?? ''} After you complete it: ${next}. Schemas: \`schemas/${name}.input.schema.json\`, \`schemas/${name}.output.schema.json\`.`;
    })
    .join('\n');
}

/**
 * AGENTS.md: the whole protocol, with this run's stages and paths relative to the run, for an
 * agent that sees only files. Why no absolute path: the run is committed and cloned elsewhere.
 */
export function agentInstructions(runId: string, pipeline: Pipeline): string {
  const first = Object.keys(pipeline.stages)[0] ?? 'stage';
  const stageLines = stageSummaryLines(pipeline);
  return `# Working on run \`${runId}\`

This directory is a ticketq run: a work queue made of plain files. Each ticket is one JSON file;
the directory it is in is its state. You can take part with **only file tools** (read, write,
list) or with the \`tq\` command. Pick one way per ticket. This file is your whole protocol:
re-read it whenever you are unsure.

All paths below are relative to this run directory (the folder that holds this AGENTS.md, wherever
it is: a run can be moved, copied or cloned from git).
Your worker id: any name of letters, digits, \`.\`, \`_\`, \`-\` (e.g. \`agent-7\`). Use the same one throughout.

## Stages
${stageLines}

## Layout
- \`pending/<stage>/<ticket-id>.json\`: waiting for a worker (\`pending/<stage>/lanes/<lane>/\`: of another
  priority, or not before a time). Do not edit or move these yourself.
- \`claimed/<worker-id>/<ticket-id>.json\`: tickets you hold. \`claim.lease_expires_at\` says until when.
- \`completed/<stage>/\`, \`failed/<stage>/\`, \`needs_review/<stage>/\`: finished tickets.
- \`schemas/\`: JSON Schemas of the ticket, the request, reply and result files, and each stage's input/output.

## A. With file tools only (a daemon, \`tq daemon\`, must be running)
Every file you write gets a name you have never used before: a *tag* of your own after \`~\` (a
counter \`1\`, \`2\`, ... or a timestamp; letters, digits, \`.\`, \`_\`, \`-\`). Why: on a network
filesystem a file written under a name someone just deleted can be lost. So never write a name twice.
1. **Ask for work**: write \`requests/<worker-id>~<request-id>.json\`, a new request id each time:
   \`\`\`json
   {"stage": "${first}"}
   \`\`\`
2. **Wait for the reply**: read \`requests/<worker-id>~<request-id>.reply.json\` until it is there (the
   daemon removes your request when it writes the reply). Delete the reply once you have read it (the
   daemon deletes replies left 10 minutes after their \`at\`). \`"status": "claimed"\` gives
   \`ticket_path\` and \`result_path\`; \`"status": "empty"\` means no work right now (ask again later);
   \`"status": "paused"\` means an operator paused the stage (ask again later); with both, wait
   \`retry_after_ms\` milliseconds before asking again (it differs per reply, so that agents spread out);
   \`"status": "error"\` says what was wrong with your request.
3. **Do the work**: read the ticket at \`ticket_path\`; its \`input_data\` is your input. If it is
   missing for a moment, the daemon is renewing its lease (the file passes through \`moving/\`): read again.
4. **Submit**: write \`result_path\` (\`claimed/<worker-id>/<ticket-id>~<tag>.result.json\`):
   \`\`\`json
   {
     "output_data": {"...": "your result, an object"},
     "worker_concerns": [{"level": "review", "message": "what worried you", "suggestion": "what to do"}],
     "usage": {"input_tokens": 1200, "output_tokens": 800, "model": "your-model", "duration_ms": 42000},
     "status": "completed"
   }
   \`\`\`
   \`status\` is \`completed\` (default), \`needs_review\` (a human should look) or \`failed\`.
   Concern levels: \`info\`, \`review\`, \`error\`. Concerns never block the pipeline.
5. **Check it was accepted**: the ticket disappears from \`claimed/<worker-id>/\` and appears in
   \`completed/<stage>/<ticket-id>.json\` (or the state you chose); the daemon deletes your result file.
   If instead \`claimed/<worker-id>/<ticket-id>~<tag>.result.error.json\` appears, read it: it says
   what is wrong. Delete that error file and your refused result, and write the fixed result under a
   new tag (\`<ticket-id>~<new-tag>.result.json\`).
6. **Need more time?** Write \`claimed/<worker-id>/<ticket-id>~<tag>.heartbeat.json\` (a new tag each
   time) containing \`{}\` before the lease expires (or \`{"lease": "30m"}\` for a given length from now);
   the daemon deletes the file and extends the lease: re-read your ticket to see the new
   \`claim.lease_expires_at\`. (While the daemon rewrites your ticket, its file can be missing for a
   moment: read it again.) A refused one is answered in \`<ticket-id>~<tag>.heartbeat.error.json\`.
7. **Giving up?** Write \`claimed/<worker-id>/<ticket-id>~<tag>.release.json\` containing \`{}\`: the
   ticket goes back to \`pending/\` for someone else (the daemon deletes the file).

Who deletes what: the daemon deletes your request when it writes its reply, and each result,
heartbeat or release file once it has acted on it; you delete the replies and error files you have
read (and a refused file of yours). Nobody writes a name the other side deletes.
(The old names without a tag, \`requests/<worker-id>.json\` answered in \`<worker-id>.reply.json\` and
\`<ticket-id>.result.json\` and its kin, are still served until the next release; such replies carry a
\`deprecated\` note.)

If your lease expires, the ticket is given to another worker and your late result is refused
(it is kept in \`rejected/\`, not lost). Write files in one go; the daemon waits until a file
parses before acting on it. Never edit, copy or move a ticket file: a ticket whose JSON disagrees
with where it is (its \`ticket_id\`, \`worker_type\`, \`status\`, \`claim.worker_id\`) is
quarantined, and a result for a ticket held by someone else or already finished is refused.

## B. With the \`tq\` command
\`\`\`sh
tq claim ${runId} --type ${first} --worker agent-7 --json        # exit 3: nothing to claim now
tq heartbeat ${runId} <ticket-id> --worker agent-7
tq submit ${runId} <ticket-id> --worker agent-7 --output result.json \\
   --concern "review:Ambiguous speaker" --suggestion "check node 0x14dfea" --usage '{"input_tokens":1200}'
tq release ${runId} <ticket-id> --worker agent-7
tq fail ${runId} <ticket-id> --worker agent-7 --error "what went wrong"   # retried later, or failed/
\`\`\`
\`--output\` takes a file holding the output_data object (or \`-\` for stdin). Pass \`--root\` if the run
is not under \`./runs\`. Every command takes \`--json\`.
`;
}

const REQUESTS_README = `# requests/

File-only workers ask for work here: write \`<worker-id>~<request-id>.json\` (a new request id
each time: a counter or a timestamp) containing \`{"stage": "<stage>"}\`, then read
\`<worker-id>~<request-id>.reply.json\` and delete it. The full protocol is in ../AGENTS.md.
`;

export async function writeAgentDocs(ctx: RunCtx): Promise<void> {
  const pipeline = ctx.config.pipeline;
  await writeFileAtomic(ctx, ctx.paths.agents, agentInstructions(ctx.runId, pipeline));
  // Why: agents cannot mkdir, and git drops empty directories: a README keeps requests/ in clones.
  await writeFileAtomic(ctx, join(ctx.paths.requests, 'README.md'), REQUESTS_README);
  for (const [name, text] of Object.entries(agentSchemas(pipeline))) {
    await writeFileAtomic(ctx, join(ctx.paths.schemas, name), text);
  }
}
