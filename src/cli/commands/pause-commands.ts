import { pauseRun, resumeRun } from '../../core/ops/pause-run.js';
import { openRunFromArgs } from '../common.js';
import { optStr, str, type CommandSpec } from '../command.js';

export const pauseCommand: CommandSpec = {
  command: 'pause <run>',
  describe: 'pause claims of a stage (--stage) or of the whole run: claimers get PAUSED (exit 15)',
  examples: [
    ['$0 pause gallia --stage translate --reason "model quota"', 'translate claims answer PAUSED; claimed tickets are worked on as usual'],
    ['$0 pause gallia', 'no claim of any stage until `tq resume gallia`'],
  ],
  builder: (y) =>
    y
      .positional('run', { type: 'string', describe: 'run id' })
      .option('stage', { type: 'string', describe: 'the stage to pause (default: every stage)' })
      .option('reason', { type: 'string', describe: 'why, for whoever wonders (kept in the pause file)' }),
  async run(args) {
    const ctx = await openRunFromArgs({ ...args, run: str(args, 'run') });
    const stage = optStr(args, 'stage');
    const reason = optStr(args, 'reason');
    const p = await pauseRun(ctx, { ...(stage !== undefined ? { stage } : {}), ...(reason !== undefined ? { reason } : {}) });
    const what = p.scope === 'run' ? `every stage of ${ctx.runId}` : `stage ${p.stage} of ${ctx.runId}`;
    return { data: { run_id: ctx.runId, ...p }, text: `paused ${what} (${p.file}); \`tq resume ${ctx.runId}${p.stage ? ` --stage ${p.stage}` : ''}\` lets claims go on` };
  },
};

export const resumeCommand: CommandSpec = {
  command: 'resume <run>',
  describe: 'let claims go on after `tq pause` (of a stage, or everything)',
  examples: [
    ['$0 resume gallia --stage translate', 'translate claims go on (unless the whole run is paused)'],
    ['$0 resume gallia', 'every pause of the run is lifted'],
  ],
  builder: (y) => y.positional('run', { type: 'string', describe: 'run id' }).option('stage', { type: 'string', describe: "lift only this stage's pause (default: every pause)" }),
  async run(args) {
    const ctx = await openRunFromArgs({ ...args, run: str(args, 'run') });
    const stage = optStr(args, 'stage');
    const r = await resumeRun(ctx, stage !== undefined ? { stage } : {});
    const lifted = r.removed.length === 0 ? 'nothing was paused' : `resumed (removed ${r.removed.join(', ')})`;
    const still = r.still_paused ? `; stage ${stage} is still paused by the pause of the whole run: \`tq resume ${ctx.runId}\` lifts it` : '';
    return { data: { run_id: ctx.runId, ...r }, text: `${lifted}${still}` };
  },
};
