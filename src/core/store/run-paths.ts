import { join, relative, resolve, sep } from 'node:path';

/**
 * Where everything of one run lives. Only validated names (ids.ts) are ever joined in here.
 *
 *   run.json                       the run's config (pipeline, defaults)
 *   pending/<stage>/<id>.json      waiting to be claimed
 *   pending/<stage>/lanes/<lane>/<id>.json  waiting, with another priority or until a time (model/lanes.ts)
 *   claimed/<worker>/<id>.json     held by a worker (lease inside the JSON)
 *   completed|failed|needs_review/<stage>/<id>.json
 *   registry/<stage>/<id>.json     birth record of every ticket ever created (model/birth-record.ts)
 *   moving/                        tickets in flight between two states (crash recovery)
 *   cascade/done/<id>.json         parent whose children were all created
 *   cascade/requested_by/          extra parents of de-duplicated children
 *   rejected/                      outputs refused because the lease was lost (kept, not lost)
 *   requests/                      file-only protocol: claim requests and replies
 *   inputs/<batch>.json            one record per `tq create/add` input (for resuming)
 *   logs/<id>.<attempt>.log        stderr of each attempt `tq work` ran
 *   items/<stage>/<item>.json      one per input item ever added: its key and its ticket
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
  logs: string;
  items: string;
  quarantine: string;
  paused: string;
  agents: string;
  schemas: string;
}

export function runPaths(root: string, runId: string): RunPaths {
  return runPathsAt(join(root, runId));
}

/** The paths of a run whose directory is `dir` (a run being built under a temp name, say). */
export function runPathsAt(dir: string): RunPaths {
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
    items: join(dir, 'items'),
    quarantine: join(dir, 'quarantine'),
    paused: join(dir, 'paused'),
    agents: join(dir, 'AGENTS.md'),
    schemas: join(dir, 'schemas'),
  };
}

/**
 * `path` relative to the run directory, for what is stored inside the run. Why: a run is
 * committed to git and cloned, copied or moved; a path of the machine that wrote it would be
 * wrong everywhere else (and tell every clone where someone's home directory was).
 */
export function runRelPath(paths: RunPaths, path: string): string {
  const rel = relative(paths.dir, path);
  return rel === '' ? '.' : rel;
}

/**
 * `text` (a message about files of the run: an error, a reason) with every mention of the run
 * directory, as given or made absolute, made relative to it: for records stored in the run (see
 * runRelPath). A mention is the directory not preceded by a path character: `runs/r1` inside
 * `/home/me/runs/r1` is the absolute form, not the relative one.
 */
export function runRelText(paths: RunPaths, text: string): string {
  for (const dir of new Set([resolve(paths.dir), paths.dir])) {
    if (!text.includes(dir)) continue;
    const mention = new RegExp(`(^|[^\\w./~-])${escapeRegExp(dir)}(${escapeRegExp(sep)}|(?![\\w.~-]))`, 'g');
    text = text.replace(mention, (_m, before: string, after: string) => (after === '' ? `${before}.` : before));
  }
  return text;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
