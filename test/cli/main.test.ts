import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { ERROR_CODES } from '../../src/core/model/errors.js';
import { EXAMPLE_PIPELINE_FILE } from '../helpers/make-run.js';
import { captureIo, jsonOf, runTq, type Captured } from '../helpers/capture-io.js';
import { useCliTempRoot } from '../helpers/cli-temp-root.js';
import { ls } from '../helpers/ticket-files.js';

const tmp = useCliTempRoot();

const tq = (...argv: string[]): Promise<Captured> => runTq(tmp.root, argv);

async function file(name: string, text: string): Promise<string> {
  const p = join(tmp.dir, name);
  await writeFile(p, text);
  return p;
}

async function createDemo(items = 3): Promise<void> {
  const input = await file('in.jsonl', Array.from({ length: items }, (_, i) => JSON.stringify({ id: `0x${i}`, text: `line ${i}` })).join('\n'));
  const r = await tq('create', 'demo', '--pipeline', EXAMPLE_PIPELINE_FILE, '--input', input);
  expect(r.code, r.stderr).toBe(0);
}

/** Claim via --json and return the ticket id and token. */
async function claimJson(stage = 'parse', worker = 'w1'): Promise<{ id: string; token: string }> {
  const r = await tq('claim', 'demo', '--type', stage, '--worker', worker, '--json');
  expect(r.code, r.stderr).toBe(0);
  const t = jsonOf(r.stdout).ticket as { ticket_id: string; claim: { token: string } };
  return { id: t.ticket_id, token: t.claim.token };
}

function errorOf(r: Captured): { code: string; message: string; hint?: string } {
  return (jsonOf(r.stderr) as { error: { code: string; message: string; hint?: string } }).error;
}

describe('tq create / add / runs', () => {
  it('create with input: human and --json output', async () => {
    const input = await file('in.jsonl', '{"id":"a"}\n{"id":"b"}\n');
    const human = await tq('create', 'demo', '--pipeline', EXAMPLE_PIPELINE_FILE, '--input', input);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/created run demo at .*demo \(stages: parse -> translate -> curate\)/);
    expect(human.stdout).toMatch(/added 2 parse tickets/);
    expect(human.stdout).toMatch(/AGENTS\.md/);
    const json = await tq('create', 'other', '--pipeline', EXAMPLE_PIPELINE_FILE, '--json');
    expect(json.code).toBe(0);
    expect(jsonOf(json.stdout)).toMatchObject({ schema_version: 1, run_id: 'other', stages: ['parse', 'translate', 'curate'], added: null });
  });

  it('create refuses an existing run (RUN_EXISTS), a bad pipeline (2) and a missing pipeline file (4)', async () => {
    await createDemo(1);
    const again = await tq('create', 'demo', '--pipeline', EXAMPLE_PIPELINE_FILE, '--json');
    expect(again.code).toBe(ERROR_CODES.RUN_EXISTS);
    expect(errorOf(again).code).toBe('RUN_EXISTS');
    const bad = await file('bad.json', JSON.stringify({ stages: { a: {} }, cascade: [{ from: 'a', to: 'a' }] }));
    const cyc = await tq('create', 'cyc', '--pipeline', bad);
    expect(cyc.code).toBe(2);
    expect(cyc.stderr).toMatch(/^tq: .*cycle/);
    expect(cyc.stderr).toMatch(/hint:/);
    const missing = await tq('create', 'x', '--pipeline', join(tmp.dir, 'nope.json'));
    expect(missing.code).toBe(4);
    const badId = await tq('create', '../evil', '--pipeline', EXAMPLE_PIPELINE_FILE);
    expect(badId.code).toBe(2);
    expect(await ls(tmp.dir)).not.toContain('evil');
  });

  it('create with a bad input line names file:line and exits 2', async () => {
    const input = await file('bad.jsonl', '{"id":"a"}\n{"id":\n');
    const r = await tq('create', 'demo', '--pipeline', EXAMPLE_PIPELINE_FILE, '--input', input);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${input}:2`);
  });

  it('add from a file and from stdin, to the entry stage or --type', async () => {
    await createDemo(1);
    const input = await file('more.json', '[{"id":"x"},{"id":"y"}]');
    const r = await tq('add', 'demo', '--input', input, '--json');
    expect(jsonOf(r.stdout)).toMatchObject({ run_id: 'demo', stage: 'parse', created: 2 });
    const c = captureIo('{"text":"bonjour"}\n');
    expect(await main(['--root', tmp.root, 'add', 'demo', '--type', 'translate'], c.io)).toBe(0);
    expect(c.out()).toBe('added 1 translate ticket to demo\n');
    expect((await tq('add', 'demo', '--type', 'nope', '--input', input)).code).toBe(2);
    expect((await tq('add', 'nope', '--input', input)).code).toBe(4);
  });

  it('runs lists the runs with totals', async () => {
    expect((await tq('runs')).stdout).toMatch(/no runs under/);
    await createDemo(2);
    const human = await tq('runs');
    expect(human.stdout).toMatch(/RUN\s+PENDING/);
    expect(human.stdout).toMatch(/demo\s+2\s+0\s+0\s+0\s+0\s+2/);
    expect(jsonOf((await tq('runs', '--json')).stdout)).toMatchObject({ runs: [{ run_id: 'demo', totals: { all: 2, pending: 2 } }] });
  });
});

describe('tq worker commands', () => {
  it('claim, heartbeat, submit (with concerns and usage), human and --json', async () => {
    await createDemo(2);
    const human = await tq('claim', 'demo', '--type', 'parse', '--worker', 'w1');
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^claimed parse-\S+ until \S+ \(token parse-\S+#1\)\n.*claimed\/w1\/parse-\S+\.json\n$/);
    const id = /claimed (\S+)/.exec(human.stdout)?.[1] as string;

    const hb = await tq('heartbeat', 'demo', id, '--worker', 'w1', '--lease', '20m', '--json');
    expect(hb.code, hb.stderr).toBe(0);
    expect(jsonOf(hb.stdout)).toMatchObject({ ticket: { ticket_id: id, status: 'claimed' } });
    expect((await tq('heartbeat', 'demo', id, '--worker', 'w1')).stdout).toMatch(/lease of .* now ends/);

    const out = await file('out.json', '{"text":"Bonjour"}');
    const concerns = await file('concerns.json', '[{"level":"error","message":"from file"}]');
    const sub = await tq('submit', 'demo', id, '--worker', 'w1', '--output', out, '--concern', 'review:Odd idiom', '--suggestion', 'check line 3', '--concerns-file', concerns, '--input-tokens', '12', '--model', 'm1', '--usage', '{"output_tokens": 5}', '--json');
    expect(sub.code, sub.stderr).toBe(0);
    const data = jsonOf(sub.stdout) as { ticket: { status: string; usage: unknown; worker_concerns: unknown[] }; repeated: boolean; cascade: { created: string[] } };
    expect(data.repeated).toBe(false);
    expect(data.ticket.status).toBe('completed');
    expect(data.ticket.usage).toEqual({ input_tokens: 12, output_tokens: 5, model: 'm1' });
    expect(data.ticket.worker_concerns).toEqual([
      expect.objectContaining({ level: 'review', message: 'Odd idiom', suggestion: 'check line 3', worker_id: 'w1' }),
      expect.objectContaining({ level: 'error', message: 'from file' }),
    ]);
    expect(data.cascade.created).toHaveLength(1);

    const again = await tq('submit', 'demo', id, '--worker', 'w1', '--output', out);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^already submitted/);
  });

  it("'--input -' and '--output -' read stdin (a lone '-' is a value, not a positional)", async () => {
    const c = captureIo('{"id":"a"}\n{"id":"b"}\n');
    expect(await main(['--root', tmp.root, 'create', 'demo', '--pipeline', EXAMPLE_PIPELINE_FILE, '--input', '-'], c.io), c.err()).toBe(0);
    expect(c.out()).toMatch(/added 2 parse tickets/);
    const c2 = captureIo('{"id":"c"}\n');
    expect(await main(['--root', tmp.root, 'add', 'demo', '--input', '-', '--json'], c2.io), c2.err()).toBe(0);
    expect(jsonOf(c2.out())).toMatchObject({ created: 1 });
    const { id } = await claimJson();
    const c3 = captureIo('{"text":"x"}');
    expect(await main(['--root', tmp.root, 'submit', 'demo', id, '--worker', 'w1', '--output', '-'], c3.io), c3.err()).toBe(0);
  });

  it('submit reads output from stdin', async () => {
    await createDemo(1);
    const { id } = await claimJson();
    const c = captureIo('{"text":"via stdin"}');
    expect(await main(['--root', tmp.root, 'submit', 'demo', id, '--worker', 'w1'], c.io)).toBe(0);
    expect(c.out()).toMatch(/submitted .* -> completed; children: 1 created/);
  });

  it('exit 3 when nothing is claimable (human and --json)', async () => {
    await createDemo(0);
    const human = await tq('claim', 'demo', '--type', 'parse', '--worker', 'w1');
    expect(human.code).toBe(3);
    expect(human.stdout).toBe('');
    expect(human.stderr).toMatch(/^tq: nothing to claim/);
    const json = await tq('claim', 'demo', '--type', 'parse', '--worker', 'w1', '--json');
    expect(json.code).toBe(3);
    expect(errorOf(json)).toMatchObject({ code: 'NOTHING_CLAIMABLE' });
  });

  it('exit 5 LEASE_LOST for a late submit, and the output is kept', async () => {
    await createDemo(1);
    const { id, token } = await claimJson();
    const rel = await tq('release', 'demo', id, '--worker', 'w1', '--reason', 'busy');
    expect(rel.code).toBe(0);
    expect(rel.stdout).toBe(`released ${id} to pending\n`);
    const out = await file('out.json', '{"text":"late"}');
    const late = await tq('submit', 'demo', id, '--worker', 'w1', '--token', token, '--output', out, '--concern', 'info:late note', '--json');
    expect(late.code).toBe(5);
    const e = errorOf(late) as { code: string; data?: { rejected_path?: string } };
    expect(e.code).toBe('LEASE_LOST');
    expect(JSON.parse(await readFile(e.data?.rejected_path as string, 'utf8'))).toMatchObject({ output_data: { text: 'late' } });
    const show = await tq('show', 'demo', id);
    expect(show.stdout).toMatch(/rejected late output from w1/);
    const concerns = await tq('concerns', 'demo');
    expect(concerns.stdout).toMatch(/\[rejected output\]: late note/);
    // heartbeat and release of a ticket not held are LEASE_LOST too
    expect((await tq('heartbeat', 'demo', id, '--worker', 'w1')).code).toBe(5);
    expect((await tq('release', 'demo', id, '--worker', 'w1')).code).toBe(5);
  });

  it('usage errors exit 2', async () => {
    await createDemo(1);
    const { id } = await claimJson();
    const out = await file('out.json', '{"x":1}');
    expect((await tq('claim', 'demo', '--type', 'parse')).code).toBe(2); // --worker missing
    expect((await tq('claim', 'demo', '--type', 'parse', '--worker', 'a b')).code).toBe(2);
    expect((await tq('submit', 'demo', id, '--worker', 'w1', '--output', out, '--concern', 'urgent:x')).code).toBe(2);
    expect((await tq('submit', 'demo', id, '--worker', 'w1', '--output', out, '--status', 'bogus')).code).toBe(2);
    const arr = await file('arr.json', '[1,2]');
    const r = await tq('submit', 'demo', id, '--worker', 'w1', '--output', arr, '--json');
    expect(r.code).toBe(2);
    expect(errorOf(r)).toMatchObject({ code: 'INVALID_INPUT' });
    expect((await tq('bogus-command')).code).toBe(2);
    expect((await tq()).code).toBe(2);
    expect((await tq('list', 'demo', '--state', 'done')).code).toBe(2);
    expect((await tq('concerns', 'demo', '--level', 'loud')).code).toBe(2);
    const unknown = await tq('status', 'demo', '--no-such-flag', '--json');
    expect(unknown.code).toBe(2);
    expect(errorOf(unknown).code).toBe('USAGE');
  });

  it('not found exits 4', async () => {
    await createDemo(1);
    expect((await tq('status', 'nope')).code).toBe(4);
    const show = await tq('show', 'demo', 'parse-nothere-1', '--json');
    expect(show.code).toBe(4);
    expect(errorOf(show).code).toBe('NOT_FOUND');
    expect((await tq('approve', 'demo', 'parse-nothere-1')).code).toBe(4);
  });
});

describe('tq inspect and operator commands', () => {
  it('status, list, show: human and --json', async () => {
    await createDemo(3);
    await claimJson('parse', 'w1');
    const status = await tq('status', 'demo');
    expect(status.stdout).toMatch(/^run demo\nSTAGE\s+PENDING\s+CLAIMED\s+COMPLETED\s+FAILED\s+REVIEW\s+DONE\nparse\s+2\s+1\s+0\s+0\s+0\s+0\/3/);
    expect(status.stdout).toMatch(/workers: w1 \(1\)/);
    expect(jsonOf((await tq('status', 'demo', '--json')).stdout)).toMatchObject({ run_id: 'demo', totals: { all: 3, pending: 2, claimed: 1 }, workers: { w1: 1 } });

    const list = await tq('list', 'demo', '--state', 'claimed');
    expect(list.stdout).toMatch(/^claimed\s+parse\s+parse-\S+\s+w1\n$/);
    const lj = jsonOf((await tq('list', 'demo', '--type', 'parse', '--json')).stdout) as { count: number; tickets: { ticket_id: string }[] };
    expect(lj.count).toBe(3);
    expect((await tq('list', 'demo', '--type', 'curate')).stdout).toBe('no tickets match\n');

    const id = lj.tickets[0]?.ticket_id as string;
    const show = await tq('show', 'demo', ` "${id}.json" `);
    expect(show.code).toBe(0);
    expect(show.stdout.split('\n')[0]).toMatch(new RegExp(`^${id}\\s+(pending|claimed)\\s+`));
    expect(jsonOf((await tq('show', 'demo', id, '--json')).stdout)).toMatchObject({ ticket: { ticket_id: id }, duplicates: [], rejected_outputs: [] });
  });

  it('approve and requeue: success, and WRONG_STATE (6) from other states', async () => {
    await createDemo(2);
    const out = await file('out.json', '{"text":"x"}');
    const a = await claimJson();
    expect((await tq('submit', 'demo', a.id, '--worker', 'w1', '--output', out, '--status', 'needs_review')).code).toBe(0);
    const b = await claimJson();
    expect((await tq('submit', 'demo', b.id, '--worker', 'w1', '--output', out, '--status', 'failed')).code).toBe(0);

    const appr = await tq('approve', 'demo', a.id, '--note', 'ok');
    expect(appr.stdout).toBe(`approved ${a.id} -> completed; children: 1 created\n`);
    const wrong = await tq('approve', 'demo', a.id, '--json');
    expect(wrong.code).toBe(ERROR_CODES.WRONG_STATE);
    expect(errorOf(wrong).code).toBe('WRONG_STATE');

    const rq = await tq('requeue', 'demo', b.id, '--json');
    expect(jsonOf(rq.stdout)).toMatchObject({ requeued: [{ ticket_id: b.id, from: 'failed' }] });
    expect((await tq('requeue', 'demo', b.id)).code).toBe(ERROR_CODES.WRONG_STATE);
  });

  it('concerns groups by level and stage, with filters', async () => {
    await createDemo(1);
    const { id } = await claimJson();
    const out = await file('out.json', '{"text":"x"}');
    await tq('submit', 'demo', id, '--worker', 'w1', '--output', out, '--concern', 'review:Ambiguous speaker', '--suggestion', 'check node', '--concern', 'info:fine');
    const human = await tq('concerns', 'demo');
    expect(human.stdout).toMatch(/^2 concern\(s\): 0 error, 1 review, 1 info\n\nREVIEW · parse\n  parse-\S+ \(w1\): Ambiguous speaker\n    suggestion: check node\n\nINFO · parse\n/);
    const json = jsonOf((await tq('concerns', 'demo', '--level', 'review', '--json')).stdout) as { concerns: unknown[]; by_level: Record<string, number> };
    expect(json.concerns).toHaveLength(1);
    expect(json.by_level).toEqual({ info: 0, review: 1, error: 0 });
  });

  it('reap: nothing to do, human and --json', async () => {
    await createDemo(1);
    expect((await tq('reap', 'demo')).stdout).toBe('no expired claims\n');
    expect(jsonOf((await tq('reap', 'demo', '--json')).stdout)).toMatchObject({ run_id: 'demo', actions: [] });
  });

  it('reap returns an expired claim (lease stamped in the past)', async () => {
    await createDemo(1);
    const { id } = await claimJson();
    const path = join(tmp.root, 'demo', 'claimed', 'w1', `${id}.json`);
    const t = JSON.parse(await readFile(path, 'utf8')) as { claim: { lease_expires_at: string } };
    t.claim.lease_expires_at = '2000-01-01T00:00:00.000Z';
    await writeFile(path, JSON.stringify(t));
    const r = await tq('reap', 'demo');
    expect(r.stdout).toMatch(new RegExp(`^returned to pending\\s+${id}\\s+w1\\s+lease expired`));
  });

  it('fsck: ok exits 0; problems exit 9; --repair mends them', async () => {
    await createDemo(2);
    const ok = await tq('fsck', 'demo');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/demo: 2 tickets \(pending 2,.*\)\nok\n$/);
    await mkdir(join(tmp.root, 'demo', '.tmp'), { recursive: true });
    await writeFile(join(tmp.root, 'demo', '.tmp', 'x.tmp'), '');
    await writeFile(join(tmp.root, 'demo', 'pending', 'stray.json'), '{}');
    const bad = await tq('fsck', 'demo', '--json');
    expect(bad.code).toBe(ERROR_CODES.FSCK_PROBLEMS);
    expect((jsonOf(bad.stdout) as { ok: boolean }).ok).toBe(false);
    const human = await tq('fsck', 'demo');
    expect(human.stdout).toMatch(/PROBLEM \[misplaced\]/);
    const fix = await tq('fsck', 'demo', '--repair', '--settle', '0');
    expect(fix.code).toBe(0);
    expect(fix.stdout).toMatch(/repaired \[temp_files\]/);
    expect((await tq('fsck', 'demo')).code).toBe(0);
  });

  it('--help prints usage and exits 0', async () => {
    const r = await tq('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/tq <command>/);
    expect(r.stdout).toMatch(/claim <run>/);
  });
});
