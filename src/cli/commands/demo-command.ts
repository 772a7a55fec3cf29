import { runDemo } from '../../demo/run-demo.js';
import { collectConcerns } from '../../core/views/collect-concerns.js';
import { openRun } from '../../core/store/run-context.js';
import { durationMs, type CommandSpec } from '../command.js';

export const demoCommand: CommandSpec = {
  command: 'demo',
  describe: 'run the bundled example end to end: daemon, tq work agents, file-only agents, a crashed agent',
  examples: [['$0 demo', 'about 10 seconds; then look at runs/gallia-demo-*/'], ['$0 demo --fast', 'a smaller corpus (used by CI)']],
  builder: (y) =>
    y
      .option('fast', { type: 'boolean', default: false, describe: 'a smaller corpus (12 walks)' })
      .option('walks', { type: 'number', describe: 'number of dialogue walks (default 50)' })
      .option('timeout', { type: 'string', default: '2m', describe: 'give up after this long, e.g. 2m, 90s' }),
  async run(args, io) {
    const walks = typeof args.walks === 'number' ? args.walks : args.fast === true ? 12 : 50;
    const write = args.json ? () => undefined : io.stdout;
    const r = await runDemo({ root: args.root, walks, workConcurrency: 2, fileWorkers: 2, timeoutMs: durationMs(args, 'timeout') ?? 120_000, write, isTTY: io.isTTY && !args.json });
    const concerns = await collectConcerns(await openRun(args.root, r.run_id));
    const lines = [
      '',
      `${r.done ? 'done' : 'NOT DONE'} in ${r.seconds}s: ${r.summary}`,
      ...r.reaped.map((x) => `reaper recovered ${x.ticket_id} from ${x.from_worker} (it died holding the claim)`),
      `concerns: ${r.concerns.error} error, ${r.concerns.review} review, ${r.concerns.info} info`,
      ...concerns.concerns.slice(0, 4).map((c) => `  ${c.level} ${c.ticket_id}: ${c.message}`),
      `fsck: ${r.fsck_ok ? 'ok' : 'PROBLEMS (run tq fsck)'}`,
      '',
      'tq work, one per stage (its summary when the demo stopped it):',
      ...r.work_summaries.map((l) => `  ${l}`),
      '',
      'where to look:',
      `  ls ${r.path}/completed/curate          # the curated proper nouns`,
      `  tq status ${r.run_id} --root ${args.root}`,
      `  tq concerns ${r.run_id} --root ${args.root}`,
      `  cat ${r.path}/AGENTS.md               # what an agent reads`,
    ];
    return { data: { ...r }, text: args.json ? '' : lines.join('\n'), exitCode: r.done && r.fsck_ok ? 0 : 1 };
  },
};
