/**
 * One bad entry never stops a report: FIFOs, links and directories named like tickets or
 * records, and a claimed/<worker> that is a link out of the run, are skipped or reported by
 * status, list, show, stats, concerns, graph, top's snapshot and lineage; every other ticket is
 * still reported, and nothing outside the run is read into a report.
 */
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimTicket } from '../../../src/core/ops/claim-ticket.js';
import { submitTicket } from '../../../src/core/ops/submit-ticket.js';
import { releaseTicket } from '../../../src/core/ops/worker-moves.js';
import { listTickets, listTicketDirs, runStatus } from '../../../src/core/views/list-tickets.js';
import { showTicket } from '../../../src/core/views/show-ticket.js';
import { collectConcerns } from '../../../src/core/views/collect-concerns.js';
import { collectRunStats } from '../../../src/core/views/run-stats.js';
import { buildRunGraph } from '../../../src/core/views/run-graph.js';
import { createRunWatcher } from '../../../src/core/views/run-snapshot.js';
import { traceLineage } from '../../../src/core/views/lineage.js';
import { claimedDir, stateDir, type RunCtx } from '../../../src/core/store/run-context.js';
import { rejectedFileName, ticketFileName } from '../../../src/core/store/run-names.js';
import { registryPath } from '../../../src/core/protocol/birth-ticket.js';
import { isTqError, type TqError } from '../../../src/core/model/errors.js';
import { addItems, makeRun, parseItems } from '../../helpers/make-run.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';

const mkfifo = (path: string): void => {
  execFileSync('mkfifo', [path]);
};

let root: string;
let ctx: RunCtx;
/** A ticket completed by w1 (with a concern), one with a kept late output, one claimed by w1, the rest pending. */
let done: string;
let late: string;
let held: string;
let pendingIds: string[];
const FIFO_ID = 'parse-zzzzzzzzzzz-fifo1';
const LINK_ID = 'parse-zzzzzzzzzzz-link1';
const DIR_ID = 'parse-zzzzzzzzzzz-dir01';
const OUTSIDE_ID = 'parse-zzzzzzzzzzz-outsd';

beforeEach(async () => {
  root = await makeTempDir('tq-views-bad-');
  ({ ctx } = await makeRun(join(root, 'runs'), 'demo'));
  pendingIds = await addItems(ctx, 'parse', parseItems(5));
  const c1 = await claimTicket(ctx, { stage: 'parse', workerId: 'w1' });
  if (!c1) throw new Error('nothing claimed');
  done = c1.ticket.ticket_id;
  await submitTicket(ctx, { ticketId: done, workerId: 'w1', output: {}, concerns: [{ level: 'review', message: 'odd' }] });
  // A late output kept in rejected/ (a release, then a submit with the old token).
  const c2 = await claimTicket(ctx, { stage: 'parse', workerId: 'w1' });
  if (!c2) throw new Error('nothing claimed');
  late = c2.ticket.ticket_id;
  await releaseTicket(ctx, { ticketId: late, workerId: 'w1' });
  await expect(submitTicket(ctx, { ticketId: late, workerId: 'w1', output: {}, token: c2.ticket.claim?.token ?? '' })).rejects.toSatisfy((e) => isTqError(e, 'LEASE_LOST'));
  const c3 = await claimTicket(ctx, { stage: 'parse', workerId: 'w1' });
  if (!c3) throw new Error('nothing claimed');
  held = c3.ticket.ticket_id;
  pendingIds = pendingIds.filter((id) => id !== done && id !== held);

  // The bad entries.
  const outside = join(root, 'outside');
  await mkdir(outside);
  await writeFile(join(outside, ticketFileName(OUTSIDE_ID)), '{"not":"a ticket of this run"}\n');
  const pending = stateDir(ctx, 'pending', 'parse');
  mkfifo(join(pending, ticketFileName(FIFO_ID)));
  await symlink(join(outside, ticketFileName(OUTSIDE_ID)), join(pending, ticketFileName(LINK_ID)));
  await mkdir(join(pending, ticketFileName(DIR_ID)));
  // A FIFO under the name of the completed ticket, in pending/ (before its real copy in the listing order).
  mkfifo(join(pending, ticketFileName(done)));
  mkfifo(join(claimedDir(ctx, 'w1'), ticketFileName(FIFO_ID)));
  await mkdir(join(claimedDir(ctx, 'w1'), ticketFileName(DIR_ID)));
  mkfifo(join(stateDir(ctx, 'completed', 'parse'), ticketFileName(FIFO_ID)));
  mkfifo(join(ctx.paths.rejected, rejectedFileName(late, 'fifo')));
  await symlink(join(outside, ticketFileName(OUTSIDE_ID)), join(ctx.paths.rejected, rejectedFileName(late, 'link')));
  mkfifo(registryPath(ctx, 'parse', FIFO_ID));
  // claimed/w9 is a link out of the run, holding something that looks like a claim.
  await copyFile(join(claimedDir(ctx, 'w1'), ticketFileName(held)), join(outside, ticketFileName(held)));
  await symlink(outside, claimedDir(ctx, 'w9'));
});
afterEach(async () => {
  await removeDir(root);
});

describe('reports with bad entries in the run', () => {
  it('status counts names and skips a claimed/<worker> that is a link (reported in unsafe_dirs)', async () => {
    const s = await runStatus(ctx, { withRegistry: true });
    expect(s.unsafe_dirs).toEqual([claimedDir(ctx, 'w9')]);
    expect(s.workers).toEqual({ w1: 3 });
    expect(s.totals.completed).toBe(2);
  });

  it('list skips the linked directory; entries are names only (never opened)', async () => {
    const unsafe = new Set<string>();
    const dirs = await listTicketDirs(ctx, {}, unsafe);
    expect([...unsafe]).toEqual([claimedDir(ctx, 'w9')]);
    expect(dirs.filter((d) => d.worker_id === 'w9').flatMap((d) => d.names)).toEqual([]);
    const ids = (await listTickets(ctx)).map((t) => t.ticket_id);
    for (const id of [...pendingIds, done, held]) expect(ids).toContain(id);
    expect(ids).not.toContain(OUTSIDE_ID);
  });

  it('show reads the real copy past a FIFO under the same name; a FIFO alone is CORRUPT_TICKET', async () => {
    const v = await showTicket(ctx, done);
    expect(v.state).toBe('completed');
    expect(v.ticket.ticket_id).toBe(done);
    expect(v.duplicates).toEqual([join(stateDir(ctx, 'pending', 'parse'), ticketFileName(done))]);
    expect((await showTicket(ctx, late)).rejected_outputs).toHaveLength(1);
    for (const id of [FIFO_ID, LINK_ID, DIR_ID]) {
      const err = await showTicket(ctx, id).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isTqError(err, 'CORRUPT_TICKET'), `${id}: ${String(err)}`).toBe(true);
      expect((err as TqError).message).toMatch(/not a ticket file/);
    }
    expect((await showTicket(ctx, held)).path).toBe(join(claimedDir(ctx, 'w1'), ticketFileName(held)));
  });

  it('concerns, stats and the graph skip what they cannot read and report the rest', async () => {
    const concerns = await collectConcerns(ctx);
    expect(concerns.concerns.map((c) => c.ticket_id)).toEqual([done]);
    const stats = await collectRunStats(ctx);
    expect(stats.stages.parse?.states).toMatchObject({ completed: 1, claimed: 1, pending: pendingIds.length });
    expect(stats.totals.rejected_outputs).toBe(1);
    const graph = await buildRunGraph(ctx);
    const nodes = graph.nodes.map((n) => n.id);
    for (const id of [...pendingIds, done, held]) expect(nodes).toContain(id);
    for (const id of [FIFO_ID, LINK_ID, DIR_ID, OUTSIDE_ID]) expect(nodes).not.toContain(id);
  });

  it("top's snapshot and lineage finish", async () => {
    const snap = await createRunWatcher(ctx).snapshot();
    expect(snap.claims.map((c) => `${c.worker_id}:${c.ticket_id}`)).toContain(`w1:${held}`);
    expect(snap.claims.some((c) => c.worker_id === 'w9')).toBe(false);
    expect((await traceLineage(ctx, done)).nodes[done]?.state).toBe('completed');
    // Only a FIFO under its name, in pending/, claimed/, completed/ and registry/: nothing to trace.
    await expect(traceLineage(ctx, FIFO_ID)).rejects.toSatisfy((e) => isTqError(e, 'NOT_FOUND'));
  });
});
