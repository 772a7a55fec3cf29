import { TqError, errnoCode, isTqError } from '../../core/model/errors.js';
import { createOrResumeRun } from '../../core/ops/create-or-resume-run.js';
import { addTickets, entryStage, type AddResult } from '../../core/ops/add-tickets.js';
import { readInputItems, type InputItem } from '../../core/ops/read-input.js';
import { listRuns, runStatus } from '../../core/views/list-tickets.js';
import { nodeFs } from '../../core/store/fs-layer.js';
import { listRunBuilds } from '../../core/store/run-builds.js';
import { stripBom } from '../../core/model/serialize-ticket.js';
import { MAX_JSON_BYTES } from '../../core/model/json-limits.js';
import { readTextBounded } from '../../core/store/read-bounded.js';
import type { Durability } from '../../core/store/run-context.js';
import { openRunFromArgs, table } from '../common.js';
import { durabilityFromEnv } from '../env-settings.js';
import { optStr, str, type Args, type CommandSpec } from '../command.js';
import { PRIORITY_MAX, PRIORITY_MIN } from '../../core/model/lanes.js';
import { parseDuration } from '../../core/model/duration.js';
import type { ScheduleOptions } from '../../core/ops/work-item-schedule.js';
import type { CliIo } from '../io.js';

async function readPipeline(file: string): Promise<unknown> {
  let text: string;
  try {
    // Why bounded: `--pipeline /dev/zero` must end with an error, not with Node out of memory.
    text = await readTextBounded(file, { maxBytes: MAX_JSON_BYTES, tooBig: () => new TqError('INVALID_PIPELINE', `${file}: over the ${MAX_JSON_BYTES / 1048576} MB limit for a pipeline file`, { file }) });
  } catch (err) {
    if (isTqError(err)) throw err;
    throw new TqError('NOT_FOUND', `cannot read pipeline ${file}: ${errnoCode(err) ?? String(err)}`, { file, hint: 'pass --pipeline with a JSON file (see "Pipeline format" in the README)' });
  }
  try {
    return JSON.parse(stripBom(text));
  } catch (err) {
    throw new TqError('INVALID_PIPELINE', `${file}: not valid JSON: ${(err as Error).message}`, { file });
  }
}

/**
 * The items of --input, opened only when the first is read. Why: touching io.stdin loads the
 * tty and net machinery, and a create that fails before it adds tickets must not.
 */
function inputItemsWhenRead(input: string, io: CliIo): AsyncIterable<InputItem> {
  return { [Symbol.asyncIterator]: () => readInputItems(input, io.stdin) };
}

export const createCommand: CommandSpec = {
  command: 'create <run>',
  describe: 'create a run from a pipeline, optionally with input tickets',
  examples: [['$0 create gallia --pipeline pipeline.json --input walks.jsonl', 'a run of parse tickets, one per line of walks.jsonl']],
  builder: (y) =>
    y
      .positional('run', { type: 'string', describe: 'new run id' })
      .option('pipeline', { type: 'string', demandOption: true, describe: 'pipeline JSON file' })
      .option('input', { type: 'string', describe: 'work items: JSONL, a JSON array, or - for stdin' })
      .option('type', { type: 'string', describe: 'stage of the input tickets (default: the first stage)' })
      .option('durability', { choices: ['full', 'none'] as const, describe: 'fsync files and directories (full, default) or not' })
      .option('allow-duplicates', { type: 'boolean', describe: 'add every input item, even a repeat (same id, or same content) of one before it' }),
  async run(args, io) {
    const pipelineFile = str(args, 'pipeline');
    const durability = (optStr(args, 'durability') as Durability | undefined) ?? durabilityFromEnv(process.env);
    const input = optStr(args, 'input');
    const pipeline = await readPipeline(pipelineFile);
    // Why createOrResumeRun: a create killed half-way is finished by running it again with the same input.
    const { ctx, resumed, added } = await createOrResumeRun(args.root, str(args, 'run'), {
      pipeline,
      pipelineFile,
      durability,
      ...(input !== undefined ? { items: inputItemsWhenRead(input, io), source: input } : {}),
      stage: optStr(args, 'type'),
      allowDuplicates: args['allow-duplicates'] === true,
    });
    const stages = Object.keys(ctx.config.pipeline.stages);
    return {
      data: { run_id: ctx.runId, path: ctx.paths.dir, stages, resumed, added: added ?? null },
      text: `${resumed ? 'resumed' : 'created'} run ${ctx.runId} at ${ctx.paths.dir} (stages: ${stages.join(' -> ')})${added ? `\n${describeAdded(added)}` : ''}\nagents: read ${ctx.paths.agents}`,
    };
  },
};

export const addCommand: CommandSpec = {
  command: 'add <run>',
  describe: 'add tickets of a stage from work items',
  examples: [
    ['$0 add gallia --type parse --input more.jsonl', 'one parse ticket per line'],
    ['$0 add gallia --type parse --input more.jsonl --priority 5 --delay 10m', 'claimed before priority-0 tickets, but not for 10 minutes'],
  ],
  builder: (y) =>
    y
      .positional('run', { type: 'string', describe: 'run id' })
      .option('type', { type: 'string', describe: 'stage (default: the first stage)' })
      .option('input', { type: 'string', default: '-', describe: 'JSONL, a JSON array, or - for stdin' })
      .option('allow-duplicates', { type: 'boolean', describe: 'add every item, even one already in the run (same id, or same content)' })
      .option('priority', { type: 'number', describe: `claimed before lower priorities: an integer from ${PRIORITY_MIN} to ${PRIORITY_MAX} (default 0)` })
      .option('delay', { type: 'string', describe: 'not claimed before this long from now, e.g. 10m (at most 30d)' }),
  async run(args, io) {
    const schedule = scheduleArgs(args);
    const ctx = await openRunFromArgs({ ...args, run: str(args, 'run') });
    const input = str(args, 'input');
    // Why: re-running an interrupted add of the same file resumes its batch (no duplicates).
    const allowDuplicates = args['allow-duplicates'] === true;
    const added = await addTickets(ctx, optStr(args, 'type') ?? entryStage(ctx), readInputItems(input, io.stdin), { ...schedule, ...(input === '-' ? { allowDuplicates } : { source: input, resume: true, allowDuplicates }) });
    return { data: { run_id: ctx.runId, ...added }, text: `${added.resumed ? 'resumed: ' : ''}${describeAdded(added, ctx.runId)}` };
  },
};

/** --priority and --delay, checked before the run is opened (a bad one is a usage error). */
function scheduleArgs(args: Args): ScheduleOptions {
  const priority = args.priority;
  if (priority !== undefined && (typeof priority !== 'number' || !Number.isInteger(priority) || priority < PRIORITY_MIN || priority > PRIORITY_MAX)) {
    throw new TqError('USAGE', `--priority ${String(priority)}: must be an integer from ${PRIORITY_MIN} to ${PRIORITY_MAX}`, { field: 'priority', hint: 'higher is claimed first; the default is 0 (write a negative one as --priority=-2)' });
  }
  const delay = optStr(args, 'delay');
  if (delay !== undefined) parseDuration(delay, 'delay');
  return { ...(typeof priority === 'number' ? { priority } : {}), ...(delay !== undefined ? { delay } : {}) };
}

/**
 * "added 3 parse tickets to r1", and what was not added: "added 0 parse tickets; 2 already
 * present (same item)", "1 not added: its id was added before with other content (walks.jsonl:3)".
 */
export function describeAdded(added: AddResult, runId?: string): string {
  const parts = [`added ${added.created} ${added.stage} ${added.created === 1 ? 'ticket' : 'tickets'}${runId !== undefined ? ` to ${runId}` : ''}`];
  if (added.existing > 0) parts.push(`${added.existing} already present (same item)`);
  if (added.changed > 0) {
    const first = added.changed_items[0];
    parts.push(`${added.changed} not added: id already added with other content${first ? ` (${first.where}: ${first.item_key} is ${first.ticket_id})` : ''}`);
  }
  const skipped = added.existing + added.changed > 0 ? '\n  (pass --allow-duplicates to add them anyway)' : '';
  return `${parts.join('; ')}${skipped}`;
}

export const runsCommand: CommandSpec = {
  command: 'runs',
  describe: 'list the runs under the root',
  examples: [['$0 runs --root /data/runs', 'runs and their totals']],
  builder: (y) => y,
  async run(args) {
    const rows = [];
    for (const id of await listRuns(args.root, nodeFs)) {
      try {
        const s = await runStatus(await openRunFromArgs({ ...args, run: id }));
        rows.push({ run_id: id, totals: s.totals });
      } catch (err) {
        rows.push({ run_id: id, error: (err as Error).message });
      }
    }
    const text =
      rows.length === 0
        ? `no runs under ${args.root}`
        : table([
            ['RUN', 'PENDING', 'CLAIMED', 'COMPLETED', 'FAILED', 'REVIEW', 'TOTAL'],
            ...rows.map((r) => ('totals' in r && r.totals ? [r.run_id, ...[r.totals.pending, r.totals.claimed, r.totals.completed, r.totals.failed, r.totals.needs_review, r.totals.all].map(String)] : [r.run_id, `error: ${'error' in r ? r.error : ''}`])),
          ]);
    // Why shown apart: a run being created is no run yet (it appears whole, or not at all).
    const builds = await listRunBuilds(nodeFs, args.root);
    const buildLines = builds.map((b) =>
      b.abandoned
        ? `not a run: ${b.name} is what a killed \`tq create ${b.runId}\` (pid ${b.pid}) left; the next \`tq create ${b.runId}\` removes it (or rm -r it)`
        : `being created: ${b.runId} (${b.name}, pid ${b.pid})`,
    );
    return { data: { root: args.root, runs: rows, creating: builds.map((b) => ({ name: b.name, run_id: b.runId, pid: b.pid, abandoned: b.abandoned })) }, text: [text, ...buildLines].join('\n') };
  },
};
