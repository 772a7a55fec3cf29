/**
 * Faults a network filesystem gives, injected with strace into a real `tq claim` / `tq submit`
 * (strace skips the call and returns the error): the operation retries what is transient and
 * otherwise reports the truth; nothing is duplicated or lost. (A call that succeeded but reports
 * failure, NFS's retried request, cannot be made by strace: retried-request.test.ts makes it
 * in-process.)
 */
import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRun } from '../../../src/core/ops/create-run.js';
import { openRun } from '../../../src/core/store/run-context.js';
import { addTickets, itemsOf } from '../../../src/core/ops/add-tickets.js';
import { claimTicket } from '../../../src/core/ops/claim-ticket.js';
import { listTickets } from '../../../src/core/views/list-tickets.js';
import { ensureDistBuilt } from '../../helpers/build-dist.js';
import { examplePipeline } from '../../helpers/make-run.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';
import { expectFsckOk, ls } from '../../helpers/ticket-files.js';
import { prepareCrashSuite, runTraced } from '../../helpers/strace-crash.js';

let base: string;
/** A run with two pending parse tickets. */
let pendingRun: string;
/** The same, with `claimedId` claimed by w1 (token `token`). */
let claimedRun: string;
let claimedId: string;
let token: string;
let restoreEnv: () => void = () => undefined;

beforeAll(async () => {
  restoreEnv = await prepareCrashSuite(ensureDistBuilt);
  base = await makeTempDir('tq-inject-');
  pendingRun = join(base, 'pending');
  const ctx = await createRun(pendingRun, 'nfs', { pipeline: examplePipeline(), durability: 'none' });
  await addTickets(ctx, 'parse', itemsOf([{ id: 'walk-1' }, { id: 'walk-2' }]));
  claimedRun = join(base, 'claimed');
  await cp(pendingRun, claimedRun, { recursive: true });
  const c = await claimTicket(await openRun(claimedRun, 'nfs', { durability: 'none' }), { stage: 'parse', workerId: 'w1', lease: '1h' });
  if (!c?.ticket.claim) throw new Error('nothing claimed');
  claimedId = c.ticket.ticket_id;
  token = c.ticket.claim.token;
  await writeFile(join(base, 'out.json'), JSON.stringify({ beats: [] }));
});

afterAll(async () => {
  restoreEnv();
  await removeDir(base);
});

let copies = 0;

/** runTraced with `strace` options; fails unless strace injected a fault into `syscall`. */
async function injected(root: string, args: string[], syscall: string, strace: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { result, trace } = await runTraced(root, args, { strace, traceFile: join(base, `trace-${copies}`) });
  expect(trace.split('\n').some((l) => l.includes(` ${syscall}(`) && l.includes('(INJECTED)')), `no ${syscall} fault was injected:\n${trace}`).toBe(true);
  return result;
}

async function copyOf(template: string): Promise<string> {
  const root = join(base, `copy-${(copies += 1)}`);
  await cp(template, root, { recursive: true });
  return root;
}

/** Each ticket in exactly one state: `state:id` per ticket, sorted. */
async function states(root: string): Promise<string[]> {
  const ctx = await openRun(root, 'nfs', { durability: 'none' });
  await expectFsckOk(ctx);
  expect(await ls(ctx.paths.moving)).toEqual([]);
  return (await listTickets(ctx)).map((t) => `${t.state}:${t.ticket_id}`).sort();
}

const claimArgs = ['claim', 'nfs', '--type', 'parse', '--worker', 'w2', '--json'];
const submitArgs = (): string[] => ['submit', 'nfs', claimedId, '--worker', 'w1', '--token', token, '--output', join(base, 'out.json'), '--json'];

describe('strace-injected network filesystem faults', () => {
  it('getdents64 fails with ENOENT while listing pending/: the claim lists again and claims', async () => {
    const root = await copyOf(pendingRun);
    const result = await injected(root, claimArgs, 'getdents64', ['-e', 'trace=getdents64', '-e', 'inject=getdents64:error=ENOENT:when=1']);
    expect(result.code, result.stderr).toBe(0);
    const claimed = (JSON.parse(result.stdout) as { ticket: { ticket_id: string } }).ticket.ticket_id;
    expect((await states(root)).filter((s) => s.startsWith('claimed:'))).toEqual([`claimed:${claimed}`]);
  });

  it('opening pending/<stage>/ fails with ENOENT (the directory is there): the claim opens it again and claims', async () => {
    const root = await copyOf(pendingRun);
    const dir = join(root, 'nfs', 'pending', 'parse');
    const result = await injected(root, claimArgs, 'openat', ['-P', dir, '-e', 'trace=openat', '-e', 'inject=openat:error=ENOENT:when=1']);
    expect(result.code, result.stderr).toBe(0);
    expect((await states(root)).filter((s) => s.startsWith('claimed:'))).toHaveLength(1);
  });

  it('the claim rename fails with ENOENT (skipped: the ticket is still in pending/): claimed all the same, once', async () => {
    const root = await copyOf(pendingRun);
    const result = await injected(root, claimArgs, 'rename', ['-e', 'inject=rename:error=ENOENT:when=1']);
    expect(result.code, result.stderr).toBe(0);
    const claimed = (JSON.parse(result.stdout) as { ticket: { ticket_id: string; claim: { worker_id: string } } }).ticket;
    expect(claimed.claim.worker_id).toBe('w2');
    const after = await states(root);
    expect(after.filter((s) => s.startsWith('claimed:'))).toEqual([`claimed:${claimed.ticket_id}`]);
    expect(after).toHaveLength(2);
  });

  it('the submit fence fails with ENOENT (skipped: the ticket is still claimed): the submit goes through, once', async () => {
    const root = await copyOf(claimedRun);
    const result = await injected(root, submitArgs(), 'rename', ['-e', 'inject=rename:error=ENOENT:when=1']);
    expect(result.code, result.stderr).toBe(0);
    expect(await states(root)).toContain(`completed:${claimedId}`);
    expect((await states(root)).filter((s) => s.endsWith(claimedId))).toHaveLength(1);
  });

  it('every rename fails with ENOENT (the fence never happens): the submit fails, and the ticket stays claimed, once', async () => {
    const root = await copyOf(claimedRun);
    const result = await injected(root, submitArgs(), 'rename', ['-e', 'inject=rename:error=ENOENT']);
    expect(result.code, result.stdout).not.toBe(0);
    expect((await states(root)).filter((s) => s.endsWith(claimedId))).toEqual([`claimed:${claimedId}`]);
  });

  it('the link into completed/ fails with EEXIST (skipped: nothing is there): committed all the same, once', async () => {
    const root = await copyOf(claimedRun);
    const result = await injected(root, submitArgs(), 'link', ['-e', 'inject=link:error=EEXIST:when=1']);
    expect(result.code, result.stderr).toBe(0);
    const after = await states(root);
    expect(after.filter((s) => s.endsWith(claimedId))).toEqual([`completed:${claimedId}`]);
    expect(await ls(join(root, 'nfs', 'quarantine'))).toEqual([]);
  });

  it('the link into completed/ fails with EEXIST every time: an I/O error, never a duplicate; the ticket is one copy afterwards', async () => {
    const root = await copyOf(claimedRun);
    const result = await injected(root, submitArgs(), 'link', ['-e', 'inject=link:error=EEXIST']);
    expect(result.code).not.toBe(0);
    const ctx = await openRun(root, 'nfs', { durability: 'none' });
    expect(await ls(join(root, 'nfs', 'quarantine'))).toEqual([]);
    // What recovery makes of it (fsck --repair finishes the move in moving/).
    const { fsckRun } = await import('../../../src/core/fsck/fsck-run.js');
    await fsckRun(ctx, { repair: true, settleMs: 0 });
    expect((await states(root)).filter((s) => s.endsWith(claimedId))).toEqual([`completed:${claimedId}`]);
  });
});
