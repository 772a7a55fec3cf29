import { join } from 'node:path';
import { z } from 'zod';
import { TqError, errnoCode, ioError } from '../model/errors.js';
import { cleanId } from '../model/ids.js';
import { stageConfig } from '../model/pipeline.js';
import { listDir, writeFileAtomic } from '../store/atomic-write.js';
import { checkRealDir, checkRealDirIfPresent, entryExists, forgetDir, type RunCtx } from '../store/run-context.js';
import { PAUSE_ALL_FILE_NAME, pauseFileName } from '../store/run-names.js';

/**
 * Pausing: a file in the run's paused/ directory stops claims (`tq pause`), removing it lets
 * them go on (`tq resume`). `paused/all-stages.json` pauses every stage, `paused/<stage>.json`
 * one. Why files: the run is the truth, every claimer (CLI, library, daemon) sees the same,
 * and a pause survives restarts and travels with the run through git. What is written in the
 * file (when, why) is only for people; its existence is what pauses.
 */
export const PauseRecord = z.object({
  paused_at: z.string(),
  reason: z.string().optional(),
});
export type PauseRecord = z.infer<typeof PauseRecord>;

export interface PauseState {
  /** `run`: every stage is paused; `stage`: this one. */
  scope: 'run' | 'stage';
  /** The stage, for a stage pause. */
  stage?: string;
  file: string;
  /** What the file says, when it is a record; undefined for an empty or hand-made one (still a pause). */
  record?: PauseRecord;
}

/** Pause files are tiny; a bigger one is not read (it still pauses). */
const MAX_PAUSE_FILE_BYTES = 64 * 1024;

function pauseFile(ctx: RunCtx, stage: string | undefined): string {
  return join(ctx.paths.paused, stage === undefined ? PAUSE_ALL_FILE_NAME : pauseFileName(stage));
}

/** A stage named on the command line or in a request, checked against the pipeline. */
function checkedStage(ctx: RunCtx, rawStage: string | undefined): string | undefined {
  if (rawStage === undefined) return undefined;
  const stage = cleanId(rawStage, 'stage');
  stageConfig(ctx.config.pipeline, stage);
  return stage;
}

/**
 * Is `stage` paused (by the whole run's pause, or its own)? Undefined when not. A claim pays one
 * cached lstat for this when nothing is paused (there is no paused/ directory).
 */
export async function pauseOf(ctx: RunCtx, stage: string): Promise<PauseState | undefined> {
  if (!(await checkRealDirIfPresent(ctx, ctx.paths.paused))) return undefined;
  for (const scope of ['run', 'stage'] as const) {
    const file = pauseFile(ctx, scope === 'run' ? undefined : stage);
    if (await entryExists(ctx, file)) return { scope, ...(scope === 'stage' ? { stage } : {}), file, ...(await readRecord(ctx, file)) };
  }
  return undefined;
}

/** Every pause in force: the run's and each stage's (for `tq status`). */
export async function listPauses(ctx: RunCtx): Promise<PauseState[]> {
  if (!(await checkRealDir(ctx, ctx.paths.paused))) return [];
  const out: PauseState[] = [];
  const names = new Set(await listDir(ctx, ctx.paths.paused));
  if (names.has(PAUSE_ALL_FILE_NAME)) out.push({ scope: 'run', file: pauseFile(ctx, undefined), ...(await readRecord(ctx, pauseFile(ctx, undefined))) });
  for (const stage of Object.keys(ctx.config.pipeline.stages)) {
    const file = pauseFile(ctx, stage);
    if (names.has(pauseFileName(stage))) out.push({ scope: 'stage', stage, file, ...(await readRecord(ctx, file)) });
  }
  return out;
}

async function readRecord(ctx: RunCtx, file: string): Promise<{ record?: PauseRecord }> {
  try {
    const parsed = PauseRecord.safeParse(JSON.parse(await ctx.fs.readFile(file, MAX_PAUSE_FILE_BYTES)));
    return parsed.success ? { record: parsed.data } : {};
  } catch {
    // Why not an error: a pause file that is empty, not JSON, or not a regular file still pauses.
    return {};
  }
}

/** PAUSED (exit 15) when claims of `stage` are paused; nothing otherwise. */
export async function refuseIfPaused(ctx: RunCtx, stage: string): Promise<void> {
  const pause = await pauseOf(ctx, stage);
  if (!pause) return;
  const what = pause.scope === 'run' ? `run ${ctx.runId} is paused` : `stage ${stage} of run ${ctx.runId} is paused`;
  const since = pause.record ? ` since ${pause.record.paused_at}${pause.record.reason ? ` (${pause.record.reason})` : ''}` : '';
  throw new TqError('PAUSED', `${what}${since}: nothing is claimed until it is resumed`, {
    file: pause.file,
    hint: `wait and ask again; an operator resumes it with \`tq resume ${ctx.runId}${pause.scope === 'stage' ? ` --stage ${stage}` : ''}\``,
    data: { scope: pause.scope, ...(pause.stage ? { stage: pause.stage } : {}) },
  });
}

/** Pause claims of one stage, or of the whole run (`stage` undefined). Written atomically; pausing again updates the record. */
export async function pauseRun(ctx: RunCtx, opts: { stage?: string; reason?: string } = {}): Promise<PauseState> {
  const stage = checkedStage(ctx, opts.stage);
  const record: PauseRecord = { paused_at: ctx.clock.now().toISOString(), ...(opts.reason ? { reason: opts.reason } : {}) };
  const file = pauseFile(ctx, stage);
  await writeFileAtomic(ctx, file, `${JSON.stringify(record, null, 2)}\n`);
  return { scope: stage === undefined ? 'run' : 'stage', ...(stage !== undefined ? { stage } : {}), file, record };
}

/**
 * Resume claims: of one stage (its own pause only; a pause of the whole run still holds it), or
 * with no stage, of everything (the run's pause and every stage's). Returns the files removed.
 */
export async function resumeRun(ctx: RunCtx, opts: { stage?: string } = {}): Promise<{ removed: string[]; still_paused?: PauseState }> {
  const stage = checkedStage(ctx, opts.stage);
  if (!(await checkRealDir(ctx, ctx.paths.paused))) return { removed: [] };
  const files = stage !== undefined ? [pauseFile(ctx, stage)] : (await listPauses(ctx)).map((p) => p.file);
  const removed: string[] = [];
  for (const file of files) {
    try {
      await ctx.fs.unlink(file);
      removed.push(file);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw ioError(err, 'removing', file);
    }
  }
  // Why: without paused/ a claim's check is one lstat again. Fails harmlessly when not empty.
  await ctx.fs.rmdir(ctx.paths.paused).then(() => forgetDir(ctx, ctx.paths.paused), () => undefined);
  const still = stage !== undefined ? await pauseOf(ctx, stage) : undefined;
  return { removed, ...(still ? { still_paused: still } : {}) };
}
