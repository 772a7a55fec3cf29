import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { captureIo, jsonOf, runTq } from '../helpers/capture-io.js';
import { main } from '../../src/cli/main.js';
import { BIN, ensureDistBuilt } from '../helpers/build-dist.js';
import { spawnCollect } from '../helpers/run-bin.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';
import { EXAMPLE_PIPELINE_FILE } from '../helpers/make-run.js';

let root: string;
beforeAll(async () => {
  await ensureDistBuilt();
});
beforeEach(async () => {
  root = await makeTempDir('tq-cli-completion-');
});
afterEach(async () => {
  await removeDir(root);
});

describe('tq completion', () => {
  it('prints the bash, zsh or fish script, picking the shell from $SHELL by default', async () => {
    const bash = await runTq(root, ['completion', '--shell', 'bash']);
    expect(bash.code).toBe(0);
    expect(bash.stdout).toContain('complete -o bashdefault -o default -F _tq_yargs_completions tq');
    expect(bash.stdout).toContain('tq --get-yargs-completions');
    expect((await runTq(root, ['completion', '--shell', 'fish'])).stdout).toContain("complete -f -c tq -a '(tq --get-yargs-completions");
    const c = captureIo('', { SHELL: '/usr/bin/zsh' });
    expect(await main(['completion'], c.io)).toBe(0);
    expect(c.out()).toContain('#compdef tq');
    expect(jsonOf((await runTq(root, ['completion', '--shell', 'zsh', '--json'])).stdout)).toMatchObject({ schema_version: 1, shell: 'zsh' });
    expect(process.env.SHELL).not.toBe('/bin/zsh'); // put back after building the script
  });

  it('completes commands in a real bash through the printed script', async () => {
    const bin = join(root, 'bin');
    await mkdir(bin);
    await writeFile(join(bin, 'tq'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} "$@"\n`);
    await chmod(join(bin, 'tq'), 0o755);
    const script = (await runTq(root, ['completion', '--shell', 'bash'])).stdout;
    await writeFile(join(root, 'tq.bash'), script);
    const complete = (words: string): Promise<{ stdout: string }> =>
      spawnCollect('bash', ['-c', `source tq.bash; COMP_WORDS=(${words}); COMP_CWORD=$((\${#COMP_WORDS[@]}-1)); _tq_yargs_completions; printf '%s\\n' "\${COMPREPLY[@]}"`], {
        cwd: root,
        env: { PATH: `${bin}:${process.env.PATH ?? ''}`, SHELL: '/bin/bash' },
      });
    expect((await complete('tq st')).stdout.split('\n').filter(Boolean).sort()).toEqual(['stats', 'status']);
    expect((await complete('tq li')).stdout.split('\n').filter(Boolean).sort()).toEqual(['lineage', 'list']);
    expect((await complete("tq graph g --fo")).stdout.trim()).toBe('--format');
    // Run names under the root (./runs here), and the run's stage names after --type.
    expect((await runTq(join(root, 'runs'), ['create', 'gallia', '--pipeline', EXAMPLE_PIPELINE_FILE])).code).toBe(0);
    expect((await complete("tq status ''")).stdout.split('\n').filter(Boolean)).toEqual(['gallia']);
    expect((await complete("tq claim gallia --type tr")).stdout.trim()).toBe('translate');
  });
});
