import { cp, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDistBuilt } from '../helpers/build-dist.js';
import { REPO_ROOT } from '../helpers/make-run.js';
import { runShellLine, writeTqShim } from '../helpers/tq-shell.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';
import { outputMatchesShape, readTranscripts, type TranscriptStep } from '../helpers/readme-transcripts.js';

/**
 * The newcomer test: the README's text is the input. Every ```console transcript is run as a
 * new user would type it, in a fresh directory holding a copy of examples/, with `tq` on PATH
 * (as `npm link` puts it there). Each command must exit as the README says, and print output of
 * the README's shape. Ticket ids the README shows are mapped to the real ones as they appear.
 */
const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
const transcripts = readTranscripts(readme);

let binDir = '';
const dirs: string[] = [];

beforeAll(async () => {
  await ensureDistBuilt();
  binDir = await makeTempDir('tq-readme-bin-');
  dirs.push(binDir);
  await writeTqShim(binDir);
});
afterAll(async () => {
  await Promise.all(dirs.map(removeDir));
});

function withRealIds(command: string, ids: Map<string, string>): string {
  let out = command.replace(/^npx tq /, 'tq ');
  for (const [readmeId, realId] of ids) out = out.split(readmeId).join(realId);
  return out;
}

async function runStep(step: TranscriptStep, cwd: string, ids: Map<string, string>): Promise<{ code: number | null; output: string[] }> {
  const r = await runShellLine(withRealIds(step.command, ids), cwd, binDir);
  return { code: r.code, output: r.stdout.replace(/\n$/, '').split('\n') };
}

describe('README transcripts', () => {
  it('has transcripts to run', () => {
    expect(transcripts.length).toBeGreaterThan(0);
  });
  for (const t of transcripts) {
    it(`runs the transcript of "${t.section}" (README line ${t.line})`, async () => {
      const cwd = await makeTempDir('tq-readme-');
      dirs.push(cwd);
      await cp(join(REPO_ROOT, 'examples'), join(cwd, 'examples'), { recursive: true });
      await mkdir(join(cwd, 'runs'), { recursive: true });
      const ids = new Map<string, string>();
      for (const step of t.steps) {
        const r = await runStep(step, cwd, ids);
        const where = `README line ${step.line}: $ ${step.command}\n--- printed:\n${r.output.join('\n')}\n---`;
        expect(r.code, `exit code; ${where}`).toBe(step.exitCode);
        const m = outputMatchesShape(step.expected, r.output);
        expect(m.missing, `README line not matched in shape; ${where}`).toBeUndefined();
        for (const [k, v] of m.ids) if (!ids.has(k)) ids.set(k, v);
      }
    });
  }
});
