import { join } from 'node:path';

/**
 * Where everything of one run lives. Only validated names (ids.ts) are ever joined in here.
 *
 *   run.json                       the run's config (pipeline, defaults)
 *   pending/<stage>/<id>.json      waiting to be claimed
 *   pending/<stage>/lanes/<lane>/<id>.json  waiting, with another priority or until a time (model/lanes.ts)
 *   claimed/<worker>/<id>.json     held by a worker (lease inside the JSON)
 *   completed|failed|needs_review/<stage>/<id>.json
 *   registry/<stage>/<id>.json     birth certificate of every ticket ever created
 *   moving/                        tickets in flight between two states (crash recovery)
 *   cascade/done/<id>.json         parent whose children were all created
 *   cascade/requested_by/          extra parents of de-duplicated children
 *   rejected/                      outputs refused because the lease was lost (kept, not lost)
 *   requests/                      file-only protocol: claim requests and replies
 *   inputs/<batch>.json            one record per `tq create/add` input (for resuming)
 *   quarantine/                    files fsck or the daemon could not accept
 *   paused/<stage>.json            claims of a stage are paused (paused/all-stages.json: every stage)
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
  quarantine: string;
  paused: string;
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
    quarantine: join(dir, 'quarantine'),
    paused: join(dir, 'paused'),
    agents: join(dir, 'AGENTS.md'),
    schemas: join(dir, 'schemas'),
  };
}
