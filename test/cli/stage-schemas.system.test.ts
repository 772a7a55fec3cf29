/**
 * Stage schemas through the real bin (the esbuild bundle): Ajv lives in a file of its own,
 * dist/bundle/ajv-modules.cjs, that the bundle requires only when it checks data. This checks
 * that the bundle finds it and that the CLI reports a schema violation as it does in-process.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDistBuilt } from '../helpers/build-dist.js';
import { runBin } from '../helpers/run-bin.js';
import { REPO_ROOT } from '../helpers/make-run.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';

const GALLIA = join(REPO_ROOT, 'examples', 'gallia');

let dir: string;
let root: string;
beforeAll(async () => {
  await ensureDistBuilt();
  dir = await makeTempDir();
  root = join(dir, 'runs');
});
afterAll(async () => {
  await removeDir(dir);
});

describe('stage schemas in the bundled CLI', () => {
  it('create compiles the schemas, add checks the items, submit refuses a wrong shape and takes the right one', async () => {
    expect(existsSync(join(REPO_ROOT, 'dist', 'bundle', 'ajv-modules.cjs'))).toBe(true);
    const created = await runBin(root, ['create', 'gallia', '--pipeline', join(GALLIA, 'pipeline.json'), '--input', join(GALLIA, 'walks.jsonl')]);
    expect(created.code, created.stderr).toBe(0);
    const bad = await runBin(root, ['add', 'gallia', '--input', '-'], { stdin: '{"id": "walk-900", "nodes": []}\n' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('<stdin>:1: input of stage parse does not match stages.parse.input_schema: /nodes: must NOT have fewer than 1 items (minItems at #/properties/nodes/minItems)');
    const claim = await runBin(root, ['claim', 'gallia', '--type', 'parse', '--worker', 'w', '--json']);
    const id = (JSON.parse(claim.stdout) as { ticket: { ticket_id: string } }).ticket.ticket_id;
    const wrong = await runBin(root, ['submit', 'gallia', id, '--worker', 'w'], { stdin: '{"beats": [{"node": "0x157263", "speaker": "Courier", "text": "Papers, please.", "function": "challenge"}]}' });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr.split('\n')[0]).toBe(
      "tq: <stdin>: output of stage parse does not match stages.parse.output_schema: (root): must have required property 'walk_id' (required at #/required); /beats/0: must have required property 'node_id' (required at #/properties/beats/items/required)",
    );
    const right = await runBin(root, ['submit', 'gallia', id, '--worker', 'w'], { stdin: '{"walk_id": "walk-001", "beats": [{"node_id": "0x157263", "speaker": "Courier", "text": "Papers, please.", "function": "challenge"}]}' });
    expect(right.code, right.stderr).toBe(0);
  });
});
