import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRun } from '../../src/core/ops/create-run.js';
import { childTicketId } from '../../src/core/model/ids.js';
import type { RunCtx } from '../../src/core/store/run-context.js';
import { ensureDistBuilt } from '../helpers/build-dist.js';
import { addItems } from '../helpers/make-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';
import { expectFsckOk, ls } from '../helpers/ticket-files.js';
import { waitFor } from '../helpers/wait-for.js';
import { allTicketIds, completeByHand, spawnDaemon, type DaemonProcess } from './daemon-test-kit.js';

const PARENTS = 1200;
const NOUNS = 37;
const MIN_KILLS = 10;

/** parse fans out to 2-3 translate children (unkeyed) and to 1 curate child keyed by noun (shared). */
const PIPELINE = {
  stages: { parse: {}, translate: {}, curate: {} },
  cascade: [
    { from: 'parse', to: 'translate', for_each: 'parts' },
    { from: 'parse', to: 'curate', for_each: 'nouns', key: 'noun' },
  ],
};

function outputOf(i: number): { parts: { p: number }[]; nouns: { noun: string }[] } {
  return { parts: Array.from({ length: i % 3 === 0 ? 3 : 2 }, (_, p) => ({ p })), nouns: [{ noun: `Noun ${i % NOUNS}` }] };
}

/** A small seeded PRNG (LCG): the same kill moments on every run of the test. */
function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const secs = (a: number, b: number): number => Math.round((b - a) / 100) / 10;

let root: string;
let ctx: RunCtx;
let current: DaemonProcess | undefined;
beforeAll(async () => {
  await ensureDistBuilt();
});
beforeEach(async () => {
  root = await makeTempDir();
  ctx = await createRun(root, 'kills', { pipeline: PIPELINE, durability: 'none' });
});
afterEach(async () => {
  if (current && current.child.exitCode === null && current.child.signalCode === null) current.child.kill('SIGKILL');
  await removeDir(root);
});

describe('tq daemon under SIGKILL', () => {
  it(`cascades ${PARENTS} completed parents exactly once across ${MIN_KILLS}+ kills at random moments`, async () => {
    const started = Date.now();
    const parents = await addItems(ctx, 'parse', Array.from({ length: PARENTS }, (_, i) => ({ i })));
    for (const [i, id] of parents.entries()) await completeByHand(ctx, 'parse', id, outputOf(i));
    const expected = new Set<string>();
    for (const [i, id] of parents.entries()) {
      const out = outputOf(i);
      out.parts.forEach((_, index) => expected.add(childTicketId({ to: 'translate', parentId: id, index })));
      for (const n of out.nouns) expected.add(childTicketId({ to: 'curate', parentId: id, key: n.noun }));
    }
    const markers = async (): Promise<number> => (await ls(ctx.paths.cascadeDone)).length;

    const setupDone = Date.now();
    const rand = seededRandom(20300101);
    const args = ['kills', '--interval', '100ms', '--settle', '30ms', '--json'];
    let kills = 0;
    let done = await markers();
    const progressAtKill: number[] = [];
    while (kills < MIN_KILLS) {
      current = spawnDaemon(root, args);
      // Poll for progress (a new marker), then let it run a random while before the kill.
      const before = done;
      await waitFor(async () => (await markers()) > before, 20_000, 'the restarted daemon to make progress');
      await new Promise((r) => setTimeout(r, Math.floor(rand() * 120)));
      current.child.kill('SIGKILL');
      await current.exit;
      kills += 1;
      done = await markers();
      progressAtKill.push(done);
      expect(done, 'the run finished before enough kills; make it bigger').toBeLessThan(PARENTS);
    }

    // A last daemon finishes the work and cleans what the killed ones left behind.
    const killsDone = Date.now();
    current = spawnDaemon(root, args);
    await waitFor(
      async () => (await markers()) === PARENTS && (await ls(ctx.paths.moving)).length === 0 && (await ls(ctx.paths.tmp)).length === 0,
      30_000,
      'the last daemon to finish and tidy up',
    );
    const finalDone = Date.now();
    current.child.kill('SIGTERM');
    expect(await current.exit).toEqual({ code: 0, signal: null });

    const ids = await allTicketIds(ctx);
    const counts = new Map<string, number>();
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    const duplicates = [...counts.values()].filter((n) => n > 1).length;
    const losses = [...expected].filter((id) => !counts.has(id)).length + parents.filter((id) => !counts.has(id)).length;
    const unexpected = ids.filter((id) => !expected.has(id) && !parents.includes(id));
    const figures = { kills, parents: PARENTS, children: expected.size, tickets: ids.length, duplicates, losses, unexpected: unexpected.length, progress_at_kills: progressAtKill, seconds: { setup: secs(started, setupDone), kills: secs(setupDone, killsDone), last_daemon: secs(killsDone, finalDone) } };
    console.log(`daemon kill test: ${JSON.stringify(figures)}`);
    expect(duplicates).toBe(0);
    expect(losses).toBe(0);
    expect(unexpected).toEqual([]);
    expect(ids).toHaveLength(PARENTS + expected.size);
    expect(await ls(join(ctx.paths.dir, 'pending', 'curate'))).toHaveLength(NOUNS);
    // Every parent of a shared child recorded exactly once.
    expect(await ls(ctx.paths.requestedBy)).toHaveLength(PARENTS);
    await expectFsckOk(ctx);
  });
});
