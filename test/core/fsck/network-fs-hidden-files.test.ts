import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fsckRun } from '../../../src/core/fsck/fsck-run.js';
import { claimTicket } from '../../../src/core/ops/claim-ticket.js';
import { jsonOf, runTq } from '../../helpers/capture-io.js';
import { addItems, makeRun, parseItems, type TestRun } from '../../helpers/make-run.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';
import { expectFsckOk, ls, pendingDir } from '../../helpers/ticket-files.js';

let root: string;
let run: TestRun;
beforeEach(async () => {
  root = await makeTempDir();
  run = await makeRun(root);
});
afterEach(async () => {
  await removeDir(root);
});

describe('files NFS and FUSE clients make on their own', () => {
  it('fsck (also with --repair) and listings pass over .nfs* and .fuse_hidden* files, in state directories and in the run directory', async () => {
    await addItems(run.ctx, 'parse', parseItems(2));
    const claim = await claimTicket(run.ctx, { stage: 'parse', workerId: 'w1' });
    expect(claim).not.toBeNull();
    const planted = [
      join(pendingDir(run.ctx, 'parse'), '.nfs00000000012345670000002a'),
      join(run.ctx.paths.dir, 'claimed', 'w1', '.fuse_hidden0000000b00000001'),
      join(run.ctx.paths.dir, '.nfs0000000001234568000000ff'),
      join(run.ctx.paths.requests, '.fuse_hidden0000000c00000002'),
      // Why .tmp/ above all: every other name there is litter that fsck reports and removes.
      join(run.ctx.paths.tmp, '.nfs00000000012345690000002b'),
    ];
    await mkdir(run.ctx.paths.requests, { recursive: true });
    await mkdir(run.ctx.paths.tmp, { recursive: true });
    for (const p of planted) await writeFile(p, 'held open by another process');
    await expectFsckOk(run.ctx);
    const repaired = await fsckRun(run.ctx, { repair: true });
    expect(repaired.problems).toEqual([]);
    // Nothing was quarantined or moved: the client still owns them.
    expect(await ls(run.ctx.paths.quarantine)).toEqual([]);
    for (const p of planted) expect((await ls(join(p, '..'))).includes(p.split('/').pop() as string)).toBe(true);
    const list = await runTq(root, ['list', 'demo', '--json']);
    expect(list.code).toBe(0);
    expect(JSON.stringify(jsonOf(list.stdout))).not.toMatch(/\.nfs|\.fuse_hidden/);
    const status = await runTq(root, ['status', 'demo', '--json']);
    expect(status.code).toBe(0);
    expect(JSON.stringify(jsonOf(status.stdout))).not.toMatch(/\.nfs|\.fuse_hidden|unsafe/);
  });
});
