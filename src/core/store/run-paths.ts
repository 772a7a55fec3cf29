import { join } from 'node:path';

/**
 * Where everything of one run lives. Only validated names (ids.ts) are ever joined in here.
 *
 *   run.json                       the run's config (pipeline, defaults)
 *   pending/<stage>/<id>.json      waiting to be claimed
 *   claimed/<worker>/<id>.json     held by a worker (lease inside the JSON)
 *   completed|failed|needs_review/<stage>/<id>.json
 *   registry/<stage>/<id>.json     birth certificate of every ticket ever created
 *   moving/                        tickets in flight between two states (crash recovery)
 *   cascade/done/<id>.json         parent whose children were all created
 *   cascade/requested_by/          extra parents of de-duplicated children
 *   rejected/                      outputs refused because the lease was lost (kept, not lost)
 *   requests/                      file-only protocol: claim requests and replies
 *   inputs/<batch>.json            one record per `tq create/add` input (for resuming)
 *   logs/<id>.<attempt>.log        stderr of each attempt `tq work` ran
 *   quarantine/                    files fsck or the daemon could not accept
 *   .tmp/                          temp files (git-ignored)
 */
export interface RunPaths {
  dir: string;
  runJson: string;
  tmp: string;
  moving: string;
  registry: string;
  cascadeDone: string;
  requestedBy: string;
  rejected: string;
  requests: string;
  inputs: string;
  logs: string;
  quarantine: string;
  agents: string;
  schemas: string;
}

export function runPaths(root: string, runId: string): RunPaths {
  const dir = join(root, runId);
  return {
    dir,
    runJson: join(dir, 'run.json'),
    tmp: join(dir, '.tmp'),
    moving: join(dir, 'moving'),
    registry: join(dir, 'registry'),
    cascadeDone: join(dir, 'cascade', 'done'),
    requestedBy: join(dir, 'cascade', 'requested_by'),
    rejected: join(dir, 'rejected'),
    requests: join(dir, 'requests'),
    inputs: join(dir, 'inputs'),
    logs: join(dir, 'logs'),
    quarantine: join(dir, 'quarantine'),
    agents: join(dir, 'AGENTS.md'),
    schemas: join(dir, 'schemas'),
  };
}
