#!/usr/bin/env node
/**
 * By-hand measurement (not a test): how long a real file-only request waits for its reply while
 * requests/ holds a flood of junk files, and how big the daemon grows meanwhile.
 *
 *   npm run build && node scripts/measure-requests-flood.mjs [count] [kind] [when]
 *   TQ_REPO=/path/to/another/build node scripts/measure-requests-flood.mjs ...   (its bin/ and dist/)
 *
 * count: junk files (default 100000). kind: `garbage` (`junk-<i>.json` holding "x", a request
 * name with unparseable content), `names` (`junk-<i>.txt`, not a request name), `requests`
 * (`w<i>~r<i>.json`, valid requests for an empty stage) or `mix` (a third of each; default).
 * when: `before` (junk written before the daemon starts; default) or `during` (written while it
 * runs, so every file makes a watcher event).
 * Prints one JSON line: seconds until the reply, the daemon's RSS when answered, seconds until
 * the junk was gone from requests/ (quarantined or answered; counted from when the junk was
 * written, at most DRAIN_TIMEOUT_MS), RSS then, peak RSS (VmHWM), seconds from SIGTERM to exit,
 * and how many junk files were left in requests/ at the end.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = process.env.TQ_REPO ?? fileURLToPath(new URL('../', import.meta.url));
const { createRun, addTickets, itemsOf } = await import(join(REPO, 'dist', 'index.js'));

const count = Number(process.argv[2] ?? 100_000);
const kind = process.argv[3] ?? 'mix';
const when = process.argv[4] ?? 'before';
const TIMEOUT_MS = 240_000;
const STOP_TIMEOUT_MS = 120_000;
const DRAIN_TIMEOUT_MS = Number(process.env.DRAIN_TIMEOUT_MS ?? 180_000);

function junkFile(i) {
  const k = kind === 'mix' ? ['garbage', 'names', 'requests'][i % 3] : kind;
  if (k === 'garbage') return [`junk-${i}.json`, 'x'];
  if (k === 'names') return [`junk-${i}.txt`, 'x'];
  return [`w${i}~r${i}.json`, JSON.stringify({ stage: 'curate' })];
}

async function writeJunk(dir) {
  const batch = [];
  for (let i = 0; i < count; i += 1) {
    const [name, body] = junkFile(i);
    batch.push(writeFile(join(dir, name), body));
    if (batch.length >= 500) await Promise.all(batch.splice(0));
  }
  await Promise.all(batch);
}

async function rssOf(pid) {
  const text = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  return { rssMb: Math.round(kb('VmRSS') / 1024), peakMb: Math.round(kb('VmHWM') / 1024) };
}

const root = await mkdtemp(join(tmpdir(), 'tq-flood-'));
try {
  const pipeline = JSON.parse(await readFile(join(REPO, 'examples', 'pipeline.json'), 'utf8'));
  const ctx = await createRun(root, 'flood', { pipeline, durability: 'none' });
  await addTickets(ctx, 'parse', itemsOf([{ id: 'n1', text: 'one' }, { id: 'n2', text: 'two' }]));
  const requests = join(ctx.paths.dir, 'requests');
  const t0 = Date.now();
  if (when === 'before') await writeJunk(requests);
  const child = spawn(process.execPath, [join(REPO, 'bin', 'tq.js'), '--root', root, 'daemon', 'flood', '--json'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TQ_DURABILITY: 'none' } });
  let log = '';
  child.stderr.on('data', (d) => (log += d.toString()));
  const waitUntil = async (fn, what) => {
    const deadline = Date.now() + TIMEOUT_MS;
    for (;;) {
      const v = await fn();
      if (v) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await waitUntil(() => log.includes('"started"'), 'the daemon to start');
  if (when === 'during') await writeJunk(requests);
  const junkWritten = Date.now();
  const asked = Date.now();
  await writeFile(join(requests, 'real-worker~the-real-one.json'), JSON.stringify({ stage: 'parse' }));
  let peakSeen = 0;
  let reply;
  try {
    reply = await waitUntil(async () => {
      peakSeen = Math.max(peakSeen, (await rssOf(child.pid)).rssMb || 0);
      const text = await readFile(join(requests, 'real-worker~the-real-one.reply.json'), 'utf8').catch(() => undefined);
      return text && JSON.parse(text).request_id === 'the-real-one' ? JSON.parse(text) : undefined;
    }, 'the reply');
  } catch {
    reply = { status: `no reply within ${TIMEOUT_MS / 1000} s` };
  }
  const answeredS = (Date.now() - asked) / 1000;
  const atAnswer = await rssOf(child.pid);
  // How long until the flood is gone from requests/ (up to DRAIN_TIMEOUT_MS), and the peak RSS meanwhile.
  const isJunk = (n) => !n.endsWith('.reply.json') && (n.startsWith('junk-') || /^w\d+~r\d+\.json$/.test(n));
  const junkLeft = async () => (await readdir(requests)).filter(isJunk).length;
  let drainS = `> ${DRAIN_TIMEOUT_MS / 1000}`;
  const drainEnd = Date.now() + DRAIN_TIMEOUT_MS;
  while (Date.now() < drainEnd) {
    if ((await junkLeft()) === 0) {
      drainS = (Date.now() - junkWritten) / 1000;
      break;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  const afterDrain = await rssOf(child.pid);
  child.kill('SIGTERM');
  const stopAsked = Date.now();
  const exited = await Promise.race([new Promise((r) => child.on('exit', () => r(true))), new Promise((r) => setTimeout(() => r(false), STOP_TIMEOUT_MS))]);
  const stopS = exited ? (Date.now() - stopAsked) / 1000 : `> ${STOP_TIMEOUT_MS / 1000} (SIGKILLed)`;
  if (!exited) {
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
  }
  console.log(JSON.stringify({ count, kind, when, replyStatus: reply.status, answeredS, rssAtAnswerMb: atAnswer.rssMb, drainS, rssAfterDrainMb: afterDrain.rssMb, peakRssMb: Math.max(afterDrain.peakMb, peakSeen), stopS, junkLeft: await junkLeft(), setupS: (junkWritten - t0) / 1000 }));
} finally {
  await rm(root, { recursive: true, force: true, maxRetries: 5 });
}
