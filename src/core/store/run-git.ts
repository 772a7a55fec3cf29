import { execFile } from 'node:child_process';
import { TqError, errnoCode } from '../model/errors.js';

/** An environment for git's process (the CLI and the daemon pass their own process's). */
export type GitEnv = Readonly<Record<string, string | undefined>>;

export interface GitOptions {
  /** The git binary (tests, unusual installs). */
  git?: string;
  /**
   * The environment git runs in (PATH, HOME, GIT_* ...); LC_ALL=C and GIT_TERMINAL_PROMPT=0
   * are added to it. Without it, git inherits this process's environment unchanged.
   */
  env?: GitEnv;
}

export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Enough for `git diff --name-status` over a run of a few hundred thousand tickets. */
const MAX_OUTPUT = 256 * 1024 * 1024;

/**
 * Run git in `cwd` and collect its output; a non-zero exit is returned, not thrown (callers
 * turn it into a TqError that says what to do). Only a missing git binary throws.
 */
export function runGit(cwd: string, args: string[], opts: GitOptions = {}): Promise<GitResult> {
  const git = opts.git ?? 'git';
  return new Promise((resolve, reject) => {
    execFile(
      git,
      args,
      // Why: LC_ALL=C keeps git's messages in English so callers can recognise them.
      { cwd, maxBuffer: MAX_OUTPUT, encoding: 'utf8', ...(opts.env ? { env: { ...opts.env, LC_ALL: 'C', GIT_TERMINAL_PROMPT: '0' } } : {}) },
      (err, stdout, stderr) => {
        if (errnoCode(err) === 'ENOENT') {
          reject(new TqError('NOT_FOUND', `cannot run ${git}: it is not installed or not on PATH`, { hint: 'install git (Debian: apt-get install git)' }));
          return;
        }
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Like runGit, but a failure becomes an IO_ERROR naming the command and git's own message. */
export async function runGitOk(cwd: string, args: string[], opts: GitOptions = {}): Promise<string> {
  const r = await runGit(cwd, args, opts);
  if (r.code === 0) return r.stdout;
  const msg = r.stderr.trim() || r.stdout.trim() || `exit ${r.code}`;
  throw new TqError('IO_ERROR', `git ${args[0] ?? ''} failed in ${cwd}: ${msg}`, { file: cwd, hint: gitHint(msg) });
}

function gitHint(msg: string): string {
  if (/index\.lock/.test(msg)) return 'another git command is running in this repository; wait for it (or remove .git/index.lock if no git process is left)';
  if (/tell me who you are|user\.email|user\.name/i.test(msg)) return 'set an identity: git config user.name "..." && git config user.email "..."';
  return 'run the same git command by hand in that directory to see what git needs';
}
