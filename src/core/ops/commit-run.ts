import { join } from 'node:path';
import { TqError } from '../model/errors.js';
import { readTicketAt } from '../store/read-ticket.js';
import { LANES_DIR_NAME, ticketIdOfFileName } from '../store/run-names.js';
import { runGit, runGitOk, type GitEnv, type GitOptions } from '../store/run-git.js';
import type { RunCtx } from '../store/run-context.js';
import { ALL_STATES, isTicketState, type TicketState } from '../model/states.js';

export interface CommitRunOptions {
  /** Replaces the generated subject line (the summary stays in the body). */
  message?: string;
  /** The git binary (tests, unusual installs). */
  git?: string;
  /**
   * The environment git runs in (the CLI and the daemon pass their process's own); tq adds
   * LC_ALL=C so that it can recognise git's messages. Without it, git inherits this process's
   * environment unchanged (and may answer in another language: hints get less specific).
   */
  env?: GitEnv;
}

/** What changed in the run's ticket files since the last commit that touched them. */
export interface CommitSummary {
  /** Tickets that arrived in each state (reaped/released/requeued returns to pending are counted apart). */
  arrived: Record<TicketState, number>;
  reaped: number;
  released: number;
  requeued: number;
  /** Failed attempts sent back to pending/ to be retried (`tq fail`). */
  retried: number;
  removed: number;
  /** Ticket files changed in place (heartbeats, claim stamps). */
  updated: number;
  /** Other files of the run (registry/, cascade/, rejected/, run.json ...): added, deleted, modified. */
  other_files: number;
  /** Tickets per state in the committed tree. */
  now: Record<TicketState, number>;
  files_changed: number;
}

export interface CommitRunResult {
  committed: boolean;
  /** The repository's top directory and the run's place in it. */
  repo: string;
  path_in_repo: string;
  commit: string | null;
  message: string;
  summary: CommitSummary;
}

interface TicketPath {
  state: TicketState;
  ticketId: string;
}

/** `completed/translate/translate-x.json` -> completed, translate-x (and pending/<stage>/lanes/<lane>/<id>.json -> pending); anything else -> undefined. */
export function ticketPathOf(relPath: string): TicketPath | undefined {
  const parts = relPath.split('/');
  // Why 5 parts too: pending/<stage>/lanes/<lane>/<id>.json (model/lanes.ts).
  const inLane = parts.length === 5 && parts[0] === 'pending' && parts[2] === LANES_DIR_NAME;
  if (parts.length !== 3 && !inLane) return undefined;
  const [state] = parts as [string];
  const name = parts[parts.length - 1] as string;
  if (!isTicketState(state)) return undefined;
  const ticketId = ticketIdOfFileName(name);
  return ticketId === undefined ? undefined : { state, ticketId };
}

function zeroStates(): Record<TicketState, number> {
  return { pending: 0, claimed: 0, completed: 0, failed: 0, needs_review: 0 };
}

/** Parse `git diff --name-status -z` output: [status, path] pairs. */
function parseNameStatus(z: string): { status: string; path: string }[] {
  const parts = z.split('\0').filter((p) => p !== '');
  const out: { status: string; path: string }[] = [];
  for (let i = 0; i + 1 < parts.length; i += 2) out.push({ status: (parts[i] as string).charAt(0), path: parts[i + 1] as string });
  return out;
}

/**
 * Classify the staged changes ticket by ticket: a move is a deletion in one state directory and
 * an addition in another (renames are off, so git reports exactly that). Reaps, releases and
 * requeues are counted from the history events of changed tickets newer than `sinceMs` (the last
 * commit of the run): a ticket reaped and then completed between two commits shows only as
 * pending -> completed in the diff, but its history still tells.
 */
export async function summariseChanges(ctx: RunCtx, changes: { status: string; path: string }[], tracked: string[], sinceMs?: number): Promise<CommitSummary> {
  const s: CommitSummary = { arrived: zeroStates(), reaped: 0, released: 0, requeued: 0, retried: 0, removed: 0, updated: 0, other_files: 0, now: zeroStates(), files_changed: changes.length };
  const before = new Map<string, TicketState>();
  const after = new Map<string, { state: TicketState; path: string; modified: boolean }>();
  for (const c of changes) {
    const t = ticketPathOf(c.path);
    if (!t) {
      s.other_files += 1;
      continue;
    }
    if (c.status === 'D') before.set(t.ticketId, t.state);
    else after.set(t.ticketId, { state: t.state, path: c.path, modified: c.status !== 'A' });
  }
  for (const id of before.keys()) if (!after.has(id)) s.removed += 1;
  const returns = ['reaped', 'released', 'requeued', 'attempt failed'] as const;
  for (const [id, now] of after) {
    const t = await readTicketAt(ctx, join(ctx.paths.dir, now.path)).catch(() => undefined);
    for (const h of t?.history ?? []) {
      if (sinceMs !== undefined && !(Date.parse(h.at) > sinceMs)) continue;
      if (h.event === 'reaped') s.reaped += 1;
      else if (h.event === 'released') s.released += 1;
      else if (h.event === 'requeued') s.requeued += 1;
      else if (h.event === 'attempt failed' && h.to === 'pending') s.retried += 1;
    }
    const old = before.get(id);
    if (now.modified || old === now.state) {
      // Changed in place (a claim stamp, a heartbeat, a round trip back to the same state).
      s.updated += 1;
      continue;
    }
    // A ticket back in pending/ after a reap, release or requeue is a return, not a new ticket.
    const lastToPending = [...(t?.history ?? [])].reverse().find((h) => h.to === 'pending')?.event;
    if (now.state === 'pending' && old !== undefined && (returns as readonly string[]).includes(lastToPending ?? '')) continue;
    s.arrived[now.state] += 1;
  }
  for (const p of tracked) {
    const t = ticketPathOf(p);
    if (t) s.now[t.state] += 1;
  }
  return s;
}

/** `run gallia: +12 completed, +3 pending, 1 reaped` */
export function commitSubject(runId: string, s: CommitSummary): string {
  const order: TicketState[] = ['completed', 'needs_review', 'failed', 'claimed', 'pending'];
  const parts = order.filter((st) => s.arrived[st] > 0).map((st) => `+${s.arrived[st]} ${st}`);
  for (const [n, word] of [
    [s.reaped, 'reaped'],
    [s.released, 'released'],
    [s.requeued, 'requeued'],
    [s.retried, 'retried'],
    [s.removed, 'removed'],
  ] as const) {
    if (n > 0) parts.push(`${n} ${word}`);
  }
  if (parts.length === 0 && s.updated > 0) parts.push(`${s.updated} ticket(s) updated`);
  if (parts.length === 0) parts.push(`${s.other_files} file(s) changed`);
  return `run ${runId}: ${parts.join(', ')}`;
}

function commitBody(s: CommitSummary): string {
  const now = ALL_STATES.filter((st) => s.now[st] > 0).map((st) => `${s.now[st]} ${st}`);
  return [
    `tickets now: ${now.length > 0 ? now.join(', ') : 'none'}`,
    `files changed: ${s.files_changed} (${s.other_files} outside the state directories${s.updated > 0 ? `, ${s.updated} tickets updated in place` : ''})`,
    '',
    'Committed by `tq commit`.',
  ].join('\n');
}

/**
 * Commit the run directory into the git repository that contains it, and nothing else: other
 * staged changes in the repository are left staged and uncommitted. The run's own .gitignore
 * keeps .tmp/ and .daemon.lock out. The subject line summarises what happened since the last
 * commit, e.g. `run gallia: +12 completed, +3 pending, 1 reaped`.
 *
 * One writer: git's index.lock makes a second concurrent commit fail cleanly (IO_ERROR). A
 * snapshot of a run that workers are changing is taken file by file, so a ticket moving during
 * `git add` can be caught in both or neither state; the registry lets `tq fsck` prove nothing is
 * lost, and the daemon (the only mover of its run) can call this between its own moves.
 */
export async function commitRun(ctx: RunCtx, opts: CommitRunOptions = {}): Promise<CommitRunResult> {
  const gitOpts: GitOptions = { git: opts.git, env: opts.env };
  const dir = ctx.paths.dir;
  const top = await runGit(dir, ['rev-parse', '--show-toplevel', '--show-prefix'], gitOpts);
  if (top.code !== 0) {
    throw new TqError('NOT_FOUND', `run directory ${dir} is not inside a git repository`, {
      file: dir,
      hint: `create one with \`git init\` in ${ctx.root} (or a directory above it), then run \`tq commit ${ctx.runId}\` again`,
    });
  }
  const [repo = '', prefix = ''] = top.stdout.split('\n');
  const ignored = await runGit(dir, ['check-ignore', '-q', '--', 'run.json'], gitOpts);
  if (ignored.code === 0) {
    throw new TqError('WRONG_STATE', `run directory ${dir} is ignored by git (a .gitignore of ${repo} matches it), so there is nothing git would commit`, {
      file: dir,
      hint: `see which rule with \`git -C ${dir} check-ignore -v run.json\`, and remove or negate it`,
    });
  }
  // RACE: workers may move tickets while git walks the directory; a file that vanishes between
  // git's readdir and its open makes `git add` fail. Trying again sees the new layout.
  for (let attempt = 1; ; attempt += 1) {
    const add = await runGit(dir, ['add', '--all', '--', '.'], gitOpts);
    if (add.code === 0) break;
    if (attempt >= 5) await runGitOk(dir, ['add', '--all', '--', '.'], gitOpts);
  }
  const changes = parseNameStatus(await runGitOk(dir, ['diff', '--cached', '--name-status', '--no-renames', '--relative', '-z', '--', '.'], gitOpts));
  const tracked = (await runGitOk(dir, ['ls-files', '-z', '--', '.'], gitOpts)).split('\0').filter((p) => p !== '');
  // Why: events newer than the run's last commit are what this commit adds (none yet: all of them).
  const last = await runGit(dir, ['log', '-1', '--format=%ct', '--', '.'], gitOpts);
  const sinceMs = last.code === 0 && last.stdout.trim() !== '' ? Number(last.stdout.trim()) * 1000 : undefined;
  const summary = await summariseChanges(ctx, changes, tracked, sinceMs);
  const subject = opts.message?.trim() || commitSubject(ctx.runId, summary);
  const message = `${subject}\n\n${commitBody(summary)}`;
  const base = { repo, path_in_repo: prefix.replace(/\/$/, ''), message, summary };
  if (changes.length === 0) return { ...base, committed: false, commit: null };
  // Why: `commit -- .` (pathspec, --only) commits the run directory alone, whatever else is staged.
  await runGitOk(dir, ['commit', '--quiet', '-m', message, '--', '.'], gitOpts);
  const sha = (await runGitOk(dir, ['rev-parse', 'HEAD'], gitOpts)).trim();
  return { ...base, committed: true, commit: sha };
}
