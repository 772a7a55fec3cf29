/**
 * A simulated agent for the demo, run as its own process:
 *   node dist/demo/demo-worker.js <mode> <root> <run> <worker-id>
 * mode "files": uses ONLY readFile, writeFile and readdir (the file-only protocol).
 * mode "dies": claims one ticket with a short lease and dies holding it (the reaper recovers it).
 */
import { execFile } from 'node:child_process';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { doWork, type Json } from './agent-work.js';
import { errorFileName, parseAgentFileName, replyFileName, requestFileName, ticketFileName } from '../core/store/run-names.js';

const TQ = fileURLToPath(new URL('../../bin/tq.js', import.meta.url));
const STAGES = ['curate', 'translate', 'parse'];

let running = 0;
let stopping = false;
// Why: a `tq claim` child must not outlive the demo (it would write into a run the
// demo has finished with): on SIGTERM, exit once the running command has ended, not before.
process.on('SIGTERM', () => {
  stopping = true;
  if (running === 0) process.exit(0);
});

/** Run `tq args`; `stdin`, when given, is written to its standard input (e.g. `--output -`). */
function runTq(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  running += 1;
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [TQ, ...args], { encoding: 'utf8' }, (err, stdout, stderr) => {
      running -= 1;
      if (stopping && running === 0) process.exit(0);
      const code = err && typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : err ? 1 : 0;
      resolve({ code, stdout, stderr });
    });
    // Why: a child that exits early (a refused submit) closes its stdin; EPIPE is not our error.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(stdin ?? '');
  });
}

async function readJson(path: string): Promise<Json | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Json;
  } catch {
    return undefined;
  }
}

async function until<T>(fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T | undefined> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) return undefined;
    await new Promise((r) => setTimeout(r, 25));
  }
}

let requestSeq = 0;

/** The file-only protocol: write a request, read the reply, read the ticket, write a result. */
async function filesRound(runDir: string, worker: string): Promise<boolean> {
  for (const stage of STAGES) {
    requestSeq += 1;
    // Why a new request id each time: requests and replies never reuse a name (docs/protocol.md).
    const requestId = `${process.pid}-${requestSeq}`;
    await writeFile(join(runDir, 'requests', requestFileName(worker, requestId)), JSON.stringify({ stage }));
    const replyPath = join(runDir, 'requests', replyFileName(worker, requestId));
    const reply = await until(() => readJson(replyPath), 20_000);
    // The agent removes the reply it has read (the daemon would, 10 minutes after its `at`).
    if (reply) await rm(replyPath, { force: true });
    if (!reply || reply.status !== 'claimed') continue;
    const ticket = await readJson(join(runDir, String(reply.ticket_path)));
    if (!ticket) continue;
    const ticketId = String(ticket.ticket_id);
    const work = doWork(stage, ticket.input_data as Json, ticketId);
    await writeFile(join(runDir, String(reply.result_path)), JSON.stringify({ output_data: work.output, worker_concerns: work.concerns, usage: work.usage, status: 'completed' }, null, 2));
    // Accepted when the ticket has left claimed/<worker>/; an .error.json would say why not.
    await until(async () => {
      const names = await readdir(join(runDir, 'claimed', worker));
      const error = errorFileName(parseAgentFileName(basename(String(reply.result_path)))?.errorBase ?? ticketId);
      if (names.includes(error)) {
        process.stderr.write(`[${worker}] result refused: ${await readFile(join(runDir, 'claimed', worker, error), 'utf8')}\n`);
        return true;
      }
      return names.includes(ticketFileName(ticketId)) ? undefined : true;
    }, 20_000);
    return true;
  }
  return false;
}

async function main(): Promise<void> {
  const [mode, root, run, worker] = process.argv.slice(2);
  if (!mode || !root || !run || !worker) throw new Error('usage: demo-worker <files|dies> <root> <run> <worker-id>');
  if (mode === 'dies') {
    const r = await runTq(['claim', run, '--root', root, '--type', 'parse', '--worker', worker, '--lease', '2s', '--json']);
    const id = r.code === 0 ? (JSON.parse(r.stdout) as { ticket: { ticket_id: string } }).ticket.ticket_id : 'nothing';
    process.stdout.write(`${id}\n`);
    // Why: die the hard way, holding the claim, as a crashed agent would.
    process.kill(process.pid, 'SIGKILL');
    return;
  }
  const runDir = join(root, run);
  for (;;) {
    const worked = await filesRound(runDir, worker);
    if (!worked) await new Promise((r) => setTimeout(r, 150));
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    process.stderr.write(`demo worker: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
