import { describe, expect, it } from 'vitest';
import type { Hint } from '../../src/daemon/classify-hint.js';
import { HintQueue } from '../../src/daemon/hint-queue.js';

/** A queue whose serves end only when the test says so. */
function harness(concurrency = 8) {
  const started: Hint[] = [];
  const finishers: (() => void)[] = [];
  const errors: unknown[] = [];
  const queue = new HintQueue({
    concurrency,
    serve: (h) => {
      started.push(h);
      if (h.kind === 'requests' && h.run === 'fails') return Promise.reject(new Error('boom'));
      return new Promise<void>((r) => finishers.push(r));
    },
    onError: (err) => errors.push(err),
  });
  /** End the oldest serve still running, then let the queue react. */
  const finishOne = async (): Promise<void> => {
    finishers.shift()?.();
    await settle();
  };
  return { queue, started, errors, finishOne };
}

/** Let every pending promise callback run (the queue's bookkeeping is a few microtasks deep). */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

const worker = (run: string, w: string, file?: string): Hint => ({ kind: 'worker', run, worker: w, ...(file !== undefined ? { file } : {}) });
const completed = (run: string, stage: string): Hint => ({ kind: 'completed', run, stage });

describe('HintQueue', () => {
  it('serves agents’ hints before cascade hints, each lane in arrival order', async () => {
    const { queue, started, finishOne } = harness(1);
    queue.pause();
    queue.add(completed('r', 'parse'));
    queue.add(worker('r', 'w1'));
    queue.add(completed('r', 'translate'));
    queue.add({ kind: 'requests', run: 'r' });
    expect(started).toEqual([]);
    queue.resume();
    for (let i = 0; i < 4; i += 1) await finishOne();
    expect(started).toEqual([worker('r', 'w1'), { kind: 'requests', run: 'r' }, completed('r', 'parse'), completed('r', 'translate')]);
  });

  it('never serves more than the concurrency cap at once', async () => {
    const { queue, started, finishOne } = harness(2);
    for (const w of ['a', 'b', 'c', 'd']) queue.add(worker('r', w));
    expect(started.map((h) => (h.kind === 'worker' ? h.worker : ''))).toEqual(['a', 'b']);
    expect(queue.running).toBe(2);
    expect(queue.waiting).toBe(2);
    await finishOne();
    expect(started).toHaveLength(3);
    expect(queue.running).toBe(2);
  });

  it('de-duplicates a waiting key; a key added while it is served runs again after', async () => {
    const { queue, started, finishOne } = harness();
    queue.add(worker('r', 'w1'));
    expect(started).toHaveLength(1);
    // Served now: these two wait as one, until the running one ends.
    queue.add(worker('r', 'w1'));
    queue.add(worker('r', 'w1'));
    expect(started).toHaveLength(1);
    expect(queue.waiting).toBe(1);
    await finishOne();
    expect(started).toEqual([worker('r', 'w1'), worker('r', 'w1')]);
    await finishOne();
    expect(started).toHaveLength(2);
    expect(queue.running + queue.waiting).toBe(0);
  });

  it('keeps one key from blocking others behind it', async () => {
    const { queue, started } = harness(2);
    queue.add(worker('r', 'w1'));
    queue.add(worker('r', 'w1'));
    queue.add(worker('r', 'w2'));
    expect(started).toEqual([worker('r', 'w1'), worker('r', 'w2')]);
  });

  it('pause() starts nothing new; resume() goes on', async () => {
    const { queue, started, finishOne } = harness(1);
    queue.add(worker('r', 'a'));
    queue.pause();
    queue.add(worker('r', 'b'));
    await finishOne();
    expect(started).toHaveLength(1);
    expect(queue.waiting).toBe(1);
    queue.resume();
    expect(started).toHaveLength(2);
  });

  it('onIdle() settles once nothing runs, and can ignore a hint', async () => {
    const { queue, finishOne } = harness();
    await queue.onIdle();
    queue.add({ kind: 'runs' });
    queue.add(worker('r', 'w1'));
    let idle = false;
    let idleButRuns = false;
    void queue.onIdle().then(() => (idle = true));
    void queue.onIdle((h) => h.kind === 'runs').then(() => (idleButRuns = true));
    await settle();
    expect([idle, idleButRuns]).toEqual([false, false]);
    // The 'runs' hint was queued first, so it is the oldest serve.
    await finishOne();
    expect([idle, idleButRuns]).toEqual([false, false]);
    await finishOne();
    expect([idle, idleButRuns]).toEqual([true, true]);
  });

  it('onIdle() also waits for hints started while it waits', async () => {
    const { queue, started, finishOne } = harness(1);
    queue.add(worker('r', 'a'));
    queue.add(worker('r', 'b'));
    let idle = false;
    void queue.onIdle().then(() => (idle = true));
    await finishOne();
    expect(started).toHaveLength(2);
    expect(idle).toBe(false);
    await finishOne();
    expect(idle).toBe(true);
  });

  it('close() drops what waits, refuses new hints, and lets the running ones end', async () => {
    const { queue, started, finishOne } = harness(1);
    queue.add(worker('r', 'a'));
    queue.add(worker('r', 'b'));
    queue.close();
    queue.add(worker('r', 'c'));
    queue.resume();
    expect(queue.waiting).toBe(0);
    let idle = false;
    void queue.onIdle().then(() => (idle = true));
    await finishOne();
    expect(idle).toBe(true);
    expect(started).toEqual([worker('r', 'a')]);
  });

  it('a failing serve goes to onError and the queue goes on', async () => {
    const { queue, started, errors } = harness(1);
    queue.add({ kind: 'requests', run: 'fails' });
    queue.add(worker('r', 'a'));
    await settle();
    expect(errors).toHaveLength(1);
    expect(started).toEqual([{ kind: 'requests', run: 'fails' }, worker('r', 'a')]);
  });

  it('drop() forgets a waiting hint (a request file left to a scan), never a running one', async () => {
    const { queue, started, finishOne } = harness(1);
    const file = (f: string): Hint => ({ kind: 'requests', run: 'r', file: f });
    queue.add(file('a.json'));
    queue.add(file('b.json'));
    queue.add(file('c.json'));
    expect(queue.drop(file('a.json'))).toBe(false);
    expect(queue.drop(file('b.json'))).toBe(true);
    expect(queue.waiting).toBe(1);
    for (let i = 0; i < 2; i += 1) await finishOne();
    expect(started).toEqual([file('a.json'), file('c.json')]);
  });
});
