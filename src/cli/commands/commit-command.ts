import { commitRun } from '../../core/ops/commit-run.js';
import { openRunFromArgs } from '../common.js';
import { optStr, str, type CommandSpec } from '../command.js';

export const commitCommand: CommandSpec = {
  command: 'commit <run>',
  describe: 'git-commit the run directory (only it) with a summary of what changed since the last commit',
  examples: [
    ['$0 commit gallia', 'e.g. "run gallia: +12 completed, +3 pending, 1 reaped"'],
    ['$0 commit gallia -m "checkpoint before curation"', 'your own subject line; the summary stays in the body'],
  ],
  builder: (y) => y.positional('run', { type: 'string', describe: 'run id' }).option('message', { alias: 'm', type: 'string', describe: 'subject line instead of the generated one' }),
  async run(args) {
    const ctx = await openRunFromArgs({ ...args, run: str(args, 'run') });
    const message = optStr(args, 'message');
    const r = await commitRun(ctx, { message, env: process.env });
    const subject = r.message.split('\n')[0] ?? '';
    return {
      data: { run_id: ctx.runId, ...r },
      text: r.committed ? `committed ${r.commit?.slice(0, 12)} in ${r.repo}: ${subject}` : `nothing to commit: ${r.path_in_repo || r.repo} has no changes since the last commit`,
    };
  },
};
