import { mkdir, readFile, readdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AttemptLog } from '../../src/worker/attempt-log.js';
import { makeRun, type TestRun } from '../helpers/make-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';
import { expectFsckOk, ls } from '../helpers/ticket-files.js';

let dir: string;
let run: TestRun;

beforeEach(async () => {
  dir = await makeTempDir('tq-attempt-log-');
  run = await makeRun(join(dir, 'runs'));
});
afterEach(async () => {
  await removeDir(dir);
});

describe('AttemptLog', () => {
  it('is written as logs/<id>.<attempt>~<claim>.log.tmp and published as <id>.<attempt>.log; a re-run of the attempt keeps both', async () => {
    const first = await AttemptLog.open(run.ctx, 'parse-1', 1, 1);
    first.write(Buffer.from('one\n'));
    expect(await ls(run.ctx.paths.logs)).toEqual(['parse-1.1~1.log.tmp']);
    expect(await first.close('done')).toBe(join(run.ctx.paths.logs, 'parse-1.1.log'));
    const again = await AttemptLog.open(run.ctx, 'parse-1', 1, 2);
    again.write(Buffer.from('two\n'));
    expect(await again.close()).toBe(join(run.ctx.paths.logs, 'parse-1.1~2.log'));
    expect(await ls(run.ctx.paths.logs)).toEqual(['parse-1.1.log', 'parse-1.1~2.log']);
    expect(await readFile(join(run.ctx.paths.logs, 'parse-1.1.log'), 'utf8')).toBe('one\n# done\n');
    await expectFsckOk(run.ctx);
  });

  it('never writes through a link: logs/ linked out of the run is refused (UNSAFE_PATH), a planted link at its name too', async () => {
    const outside = join(dir, 'outside');
    await mkdir(outside);
    await symlink(outside, run.ctx.paths.logs);
    await expect(AttemptLog.open(run.ctx, 'parse-1', 1, 1)).rejects.toMatchObject({ code: 'UNSAFE_PATH' });
    expect(await readdir(outside)).toEqual([]);

    const other = await makeRun(join(dir, 'runs2'));
    await mkdir(other.ctx.paths.logs);
    await symlink(join(outside, 'victim'), join(other.ctx.paths.logs, 'parse-1.1~1.log.tmp'));
    await expect(AttemptLog.open(other.ctx, 'parse-1', 1, 1)).rejects.toMatchObject({ code: 'IO_ERROR' });
    expect(await readdir(outside)).toEqual([]);
  });
});
