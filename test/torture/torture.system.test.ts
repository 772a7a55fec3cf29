/**
 * The torture suite: races, crashes and a git commit of a busy run, with the invariants checked
 * after each. `npm test` runs the short form; `npm run torture` (TQ_TORTURE=full) the full one,
 * which prints the figures published in docs/reliability.md.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRun } from '../../src/core/store/run-context.js';
import { fsckRun } from '../../src/core/fsck/fsck-run.js';
import { listDir } from '../../src/core/store/atomic-write.js';
import { runStatus } from '../../src/core/views/list-tickets.js';
import { waitFor } from '../helpers/wait-for.js';
import { hashTree } from '../helpers/run-invariants.js';
import { writeFile } from 'node:fs/promises';
import { hangGuard, paced } from '../helpers/machine-pace.js';
import { ensureDistBuilt, BIN } from '../helpers/build-dist.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';
import {
  checkInvariants, exited, makeTortureRun, seededRandom, startDaemon, startProcess, startReapLoop, startWorker, touch, waitRunDone,
} from './torture-harness.js';

const FULL = process.env.TQ_TORTURE === 'full';
const SIZE = FULL
  ? { raceTickets: 10_000, raceProcs: 16, raceRounds: 3, crashTickets: 3_000, crashKills: 300, createItems: 20_000, createKills: 40, gitTickets: 2_000 }
  : { raceTickets: 800, raceProcs: 16, raceRounds: 1, crashTickets: 300, crashKills: 25, createItems: 3_000, createKills: 6, gitTickets: 300 };
/**
 * The longest a scenario's wait may take on an idle machine; paced (test/helpers/machine-pace.ts)
 * on a busy one. The short form's scenarios take 5-30 s on an idle 2-core machine.
 */
const DEADLINE = FULL ? 600_000 : 120_000;
/** Only a hang guard: a paced wait fails first, saying what it waited for. */
const TIMEOUT = hangGuard(DEADLINE);
const SEED = Number(process.env.TQ_TORTURE_SEED ?? 7);

let root: string;
beforeAll(async () => {
  await ensureDistBuilt();
  root = await makeTempDir('tq-torture-');
});
afterAll(async () => {
  await removeDir(root);
});

function report(scenario: string, figures: Record<string, number | string>): void {
  console.log(`TORTURE ${JSON.stringify({ scenario, ...figures })}`);
}

describe('torture', () => {
  it(`races: ${SIZE.raceProcs} workers + 2 daemons + a reap loop on ${SIZE.raceTickets} tickets, ${SIZE.raceRounds} round(s)`, async () => {
    for (let round = 1; round <= SIZE.raceRounds; round += 1) {
      const started = Date.now();
      const runId = `race-${round}`;
      const ctx = await makeTortureRun(root, runId, SIZE.raceTickets);
      const stop = join(root, `${runId}.stop`);
      const daemons = [startDaemon(root, runId), startDaemon(root, runId)];
      const reaper = startReapLoop(root, runId, stop);
      // One of the workers is hostile: it rewrites fields of tickets it holds (ticket_id
      // '../../../victim', another id, worker_type, claim.worker_id, status, garbage).
      // victim.json is where '../../../victim' from claimed/<w>/ would land.
      await writeFile(join(root, 'victim.json'), '{"untouched": true}\n');
      const outside = await hashTree(root, (name) => name === runId || name.startsWith(`${runId}.`));
      const workers = Array.from({ length: SIZE.raceProcs }, (_, i) => startWorker(root, runId, i === 0 ? 'hostile0' : `w${i}`, SEED * 100 + round * 17 + i, stop));
      await waitRunDone(ctx, SIZE.raceTickets, DEADLINE);
      await touch(stop);
      await Promise.all([...workers, reaper].map(exited));
      for (const d of daemons) d.kill('SIGTERM');
      await Promise.all(daemons.map(exited));
      const counters = workers.map((w) => {
        const last = w.out.join('').trim().split('\n').pop() ?? '';
        if (!last.startsWith('{')) throw new Error(`a worker died (exit ${w.exitCode}):\n${w.out.join('').slice(-3000)}`);
        return JSON.parse(last) as Record<string, number>;
      });
      const sum = (k: string): number => counters.reduce((a, c) => a + (c[k] ?? 0), 0);
      const v = await checkInvariants(ctx, SIZE.raceTickets);
      const total = (await fsckRun(ctx, { settleMs: 0 })).tickets;
      report('races', { round, tickets: total, processes: SIZE.raceProcs + 3, claims: sum('claimed'), submits: sum('submitted'), repeated_submits: sum('repeated'), releases: sum('released'), hostile_edits: sum('hostile_edits'), hostile_refused: sum('hostile_refused'), abandoned: sum('abandoned'), late_submits_refused: sum('lease_lost'), violations: v.fsck_problems + v.wrong_counts + v.multiple_submits, seconds: Math.round((Date.now() - started) / 1000) });
      expect(v.details).toEqual([]);
      // Every successful submit completed exactly one ticket; nothing was completed twice.
      expect(sum('submitted')).toBe(total);
      // The hostile worker's tampered tickets were all refused, and nothing outside the run changed.
      expect(sum('hostile_accepted')).toBe(0);
      expect(sum('hostile_edits')).toBeGreaterThan(0);
      expect(await hashTree(root, (name) => name === runId || name.startsWith(`${runId}.`))).toBe(outside);
    }
  }, TIMEOUT);

  it(`crashes: SIGKILL of workers, the daemon and fsck --repair, ${SIZE.crashKills} times`, async () => {
    const started = Date.now();
    const runId = 'crash';
    const rnd = seededRandom(SEED);
    const ctx = await makeTortureRun(root, runId, SIZE.crashTickets);
    const stop = join(root, `${runId}.stop`);
    let seq = 0;
    const newWorker = () => startWorker(root, runId, `c${seq % 6}`, SEED + (seq += 1), stop);
    const workers = Array.from({ length: 6 }, newWorker);
    let daemon = startDaemon(root, runId);
    let fsck = startProcess([BIN, 'fsck', runId, '--root', root, '--repair', '--settle', '300ms']);
    const kills = { worker: 0, daemon: 0, fsck: 0 };
    for (let k = 0; k < SIZE.crashKills; k += 1) {
      // RACE: the kill lands wherever the victim happens to be; the delay is random, not a sync
      // point. Paced: on a busy machine the victims start and work slower, and many unpaced kills
      // would land during their start-up.
      const delay = await paced(20 + Math.floor(rnd() * 150));
      await new Promise((r) => setTimeout(r, delay));
      const pick = rnd();
      if (pick < 0.6) {
        const i = Math.floor(rnd() * workers.length);
        workers[i]?.kill('SIGKILL');
        await exited(workers[i] as NonNullable<(typeof workers)[number]>);
        workers[i] = newWorker();
        kills.worker += 1;
      } else if (pick < 0.85) {
        daemon.kill('SIGKILL');
        await exited(daemon);
        daemon = startDaemon(root, runId);
        kills.daemon += 1;
      } else {
        fsck.kill('SIGKILL');
        await exited(fsck);
        fsck = startProcess([BIN, 'fsck', runId, '--root', root, '--repair', '--settle', '300ms']);
        kills.fsck += 1;
      }
    }
    // Restart and continue: one more `fsck --repair` once the killing stops, as an operator
    // would after a crash. What it had to mend is reported.
    await exited(fsck);
    const mended = await fsckRun(ctx, { repair: true, settleMs: 5000 });
    report('crashes-final-repair', { problems: mended.problems.length, kinds: [...new Set(mended.problems.map((p) => p.kind))].join(','), details: mended.problems.map((p) => p.message).join(' | ') });
    await waitRunDone(ctx, SIZE.crashTickets, DEADLINE);
    await touch(stop);
    await Promise.all(workers.map(exited));
    daemon.kill('SIGTERM');
    await exited(daemon);
    // After the dust settles: what --repair cannot mend would show up here.
    await fsckRun(ctx, { repair: true, settleMs: 0 });
    const v = await checkInvariants(ctx, SIZE.crashTickets);
    const temps = await listDir(ctx, ctx.paths.tmp);
    report('crashes', { tickets: (await fsckRun(ctx, { settleMs: 0 })).tickets, kills: kills.worker + kills.daemon + kills.fsck, ...kills, violations: v.fsck_problems + v.wrong_counts + v.multiple_submits, temp_files_left: temps.length, seconds: Math.round((Date.now() - started) / 1000) });
    expect(v.details).toEqual([]);
    expect(temps).toEqual([]);
  }, TIMEOUT);

  it(`crashes: SIGKILL of \`tq create\` of ${SIZE.createItems} items, ${SIZE.createKills} times, then the same command again`, async () => {
    const rnd = seededRandom(SEED + 1);
    const input = join(root, 'big.jsonl');
    await (await import('node:fs/promises')).writeFile(input, Array.from({ length: SIZE.createItems }, (_, n) => JSON.stringify({ n, text: 'x'.repeat(300) })).join('\n'));
    const pipelineFile = join(root, 'pipeline.json');
    await (await import('node:fs/promises')).writeFile(pipelineFile, JSON.stringify({ stages: { parse: {} }, cascade: [] }));
    let kills = 0;
    let finished = false;
    for (let attempt = 0; attempt < SIZE.createKills + 20 && !finished; attempt += 1) {
      const child = startProcess([BIN, 'create', 'big', '--root', root, '--pipeline', pipelineFile, '--input', input]);
      if (kills < SIZE.createKills) {
        // Paced: on a busy machine node takes longer to start, and unpaced,
        // many kills would land before the create had written anything.
        const delay = await paced(50 + Math.floor(rnd() * 600));
        await new Promise((r) => setTimeout(r, delay));
        if (child.exitCode === null) {
          child.kill('SIGKILL');
          kills += 1;
        }
      }
      await exited(child);
      finished = child.exitCode === 0;
      if (!finished && child.exitCode !== null) throw new Error(`create failed: ${child.out.join('')}`);
    }
    expect(finished).toBe(true);
    const ctx = await openRun(root, 'big', { durability: 'none' });
    await fsckRun(ctx, { repair: true, settleMs: 0 });
    const r = await fsckRun(ctx, { settleMs: 0 });
    report('create-crash', { items: SIZE.createItems, kills, tickets: r.tickets, violations: r.problems.length + Math.abs(r.tickets - SIZE.createItems) });
    expect(r.problems).toEqual([]);
    expect(r.tickets).toBe(SIZE.createItems);
    expect(r.by_state.pending).toBe(SIZE.createItems);
  }, TIMEOUT);

  it('git: a commit taken while workers and the daemon are busy clones, repairs and finishes', async () => {
    const runId = 'gitrun';
    const repo = join(root, 'repo');
    const ctx = await makeTortureRun(repo, runId, SIZE.gitTickets);
    const git = (cwd: string, ...args: string[]) => execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=torture', ...args], { cwd, stdio: 'pipe' }).toString();
    git(repo, 'init', '-q');
    const stop = join(root, `${runId}.never`);
    const workers = Array.from({ length: 4 }, (_, i) => startWorker(repo, runId, `g${i}`, SEED + i, stop));
    const daemon = startDaemon(repo, runId);
    let commits = 0;
    let lastGitError = '';
    // Commit mid-flight (at 1/4, 2/4 and 3/4 of the parse tickets done), retrying when git trips
    // over a file that moved under it.
    for (let k = 1; k <= 3; k += 1) {
      await waitFor(async () => (await runStatus(ctx)).totals.completed >= (k * SIZE.gitTickets) / 4, DEADLINE / 2, `${k}/4 of the run done`);
      // Why a deadline and not a count: on a busy run git aborts whenever a file vanishes under it.
      for (const until = Date.now() + (await paced(DEADLINE / 8)); commits < k && Date.now() < until; ) {
        try {
          // Why not `git add -A --ignore-errors`: it aborts ("unable to stat") on the first file
          // that vanishes between its directory walk and its stat, and stages nothing; on a busy
          // machine git is slow enough that almost every attempt failed, and the loop spun until
          // the deadline. Staging the list as it was, with files gone since recorded as removed,
          // catches tickets in both states or neither, as a user's commit of a busy run does, and
          // the clone has to cope.
          const changed = execFileSync('git', ['ls-files', '-z', '--others', '--modified', '--deleted', '--exclude-standard'], { cwd: repo, stdio: 'pipe' });
          execFileSync('git', ['update-index', '-z', '--add', '--remove', '--stdin'], { cwd: repo, input: changed, stdio: 'pipe' });
          git(repo, 'commit', '-q', '-m', `busy ${commits}`);
          commits += 1;
        } catch (err) {
          const e = err as { stderr?: Buffer; stdout?: Buffer };
          lastGitError = `${String(e.stderr ?? '')}${String(e.stdout ?? '')}` || String(err);
          // Why stop: nothing moved since the last commit (the run went idle, as it can on a
          // slow machine); retrying would only spin until the deadline.
          if (lastGitError.includes('nothing to commit')) break;
          // Otherwise a file vanished between git's stat and its read: try again.
        }
      }
    }
    // Workers and daemon die as they are (claims held, moves maybe in flight): the clone must cope.
    for (const p of [...workers, daemon]) p.kill('SIGKILL');
    await Promise.all([...workers, daemon].map(exited));
    expect(commits, lastGitError).toBeGreaterThan(0);
    const clone = join(root, 'clone');
    execFileSync('git', ['clone', '-q', repo, clone]);
    const cloned = await openRun(clone, runId, { durability: 'none' });
    const repair = await fsckRun(cloned, { repair: true, settleMs: 0 });
    // Finish the run in the clone: leases of dead workers expire, the rest is claimed and done.
    const stop2 = join(root, `${runId}.stop2`);
    const daemon2 = startDaemon(clone, runId);
    const workers2 = Array.from({ length: 4 }, (_, i) => startWorker(clone, runId, `h${i}`, SEED + 10 + i, stop2));
    await waitRunDone(cloned, SIZE.gitTickets, DEADLINE);
    await touch(stop2);
    await Promise.all(workers2.map(exited));
    daemon2.kill('SIGTERM');
    await exited(daemon2);
    const v = await checkInvariants(cloned, SIZE.gitTickets);
    report('git-clone', { tickets: SIZE.gitTickets, commits, repaired_in_clone: repair.problems.length, violations: v.fsck_problems + v.wrong_counts + v.multiple_submits });
    expect(v.details).toEqual([]);
  }, TIMEOUT);
});

