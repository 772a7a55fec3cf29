import { join } from 'node:path';
import { isTqError } from '../core/model/errors.js';
import { stageOfTicketId, validateId } from '../core/model/ids.js';
import { submitTicket } from '../core/ops/submit-ticket.js';
import { heartbeatTicket, releaseTicket } from '../core/ops/worker-moves.js';
import { registryPath } from '../core/protocol/birth-ticket.js';
import { quarantineFile } from '../core/store/quarantine.js';
import { listDir, unlinkIfExists } from '../core/store/atomic-write.js';
import { AgentFileKind, ERROR_SUFFIX, agentFileName, isSafeBaseName, parseAgentFileName, ticketFileName } from '../core/store/run-names.js';
import { claimedDir } from '../core/store/run-context.js';
import { TicketState } from '../core/model/states.js';
import { agentErrorOf, unreadableError, type AgentError } from './agent-error.js';
import { errorFilePath, writeAgentErrorFile, type ErrorTarget } from './answer-agent.js';
import { restoreStaleTaken, takeUnchanged } from './consume-agent-file.js';
import { errorLogOf, isRealDirInRun, isRegularFile, nowMs, type DaemonRun } from './daemon-run.js';
import { parseAgentJson, type AgentValues } from './parse-agent-json.js';
import { readAgentFile } from './read-agent-file.js';
import { putBack, originalOfTaken } from './take-file.js';
import { mapLimit } from '../core/store/run-pool.js';
import { cascadeLockKey } from './cascade-completed.js';

/** One file an agent wrote into its claimed/<worker>/ directory. */
interface WorkerFile {
  dir: string;
  worker: string;
  name: string;
  path: string;
  rel: string;
  /** The ticket id part of the name, as written (validated before use). */
  rawId: string;
  /** The agent's tag (`<id>~<tag>.<kind>.json`), as written; undefined for the deprecated untagged name. */
  rawTag: string | undefined;
  /** What the error file answering this file is named after (run-names.ts parseAgentFileName). */
  errorBase: string;
  fingerprint: string;
}

/** Agent files of different tickets in one worker directory handled side by side. */
const PER_DIR_CONCURRENCY = 8;

/** Serve result, heartbeat and release files in every claimed/<worker>/ directory (but those `skip` says). */
export async function serveWorkerDirs(run: DaemonRun, skip?: (dir: string) => boolean): Promise<void> {
  const top = join(run.ctx.paths.dir, TicketState.claimed);
  if (!(await isRealDirInRun(run.ctx, top))) return;
  for (const worker of await listDir(run.ctx, top)) {
    if (skip?.(claimedDir(run.ctx, worker))) continue;
    await serveWorkerDir(run, worker);
  }
}

export function workerLockKey(worker: string, rawId: string): string {
  return `worker\0${worker}\0${rawId}`;
}

export async function serveWorkerDir(run: DaemonRun, worker: string): Promise<void> {
  const dir = claimedDir(run.ctx, worker);
  // Why: a link here could point outside the run, and we write error files into this directory.
  if (!(await isRealDirInRun(run.ctx, dir))) return;
  const names = await listDir(run.ctx, dir);
  // Why: one group per ticket, in listing order: a heartbeat and a result of the same ticket are
  // handled one after the other, different tickets side by side.
  const groups = new Map<string, string[]>();
  for (const name of names) {
    if (originalOfTaken(name) !== undefined) {
      await serveOne(run, dir, worker, name);
      continue;
    }
    const rawId = parseAgentFileName(name)?.rawId;
    if (rawId === undefined) continue;
    const g = groups.get(rawId);
    if (g) g.push(name);
    else groups.set(rawId, [name]);
  }
  await mapLimit(groups, PER_DIR_CONCURRENCY, ([rawId, group]) =>
    run.locks.with(workerLockKey(worker, rawId), async () => {
      for (const name of group) await serveOne(run, dir, worker, name);
    }),
  );
  run.memory.prune(dir, new Set(names));
}

/**
 * Serve one agent file in claimed/<worker>/ (a watcher event named it). Does not list the
 * directory: a worker directory also holds every ticket the worker claimed.
 */
export async function serveWorkerFile(run: DaemonRun, worker: string, name: string): Promise<void> {
  const parsed = parseAgentFileName(name);
  if (parsed === undefined) return;
  // Why: a name no error file can be derived from is quarantined by the directory pass.
  if (!isSafeBaseName(parsed.errorBase, ERROR_SUFFIX)) return serveWorkerDir(run, worker);
  const dir = claimedDir(run.ctx, worker);
  if (!(await isRealDirInRun(run.ctx, dir))) return;
  await run.locks.with(workerLockKey(worker, parsed.rawId), () => serveOne(run, dir, worker, name));
}

async function serveOne(run: DaemonRun, dir: string, worker: string, name: string): Promise<void> {
  try {
    await serveWorkerEntry(run, dir, worker, name);
  } catch (err) {
    run.log({ action: 'error', worker_id: worker, file: `claimed/${worker}/${name}`, error: errorLogOf(err) });
  }
}

async function serveWorkerEntry(run: DaemonRun, dir: string, worker: string, name: string): Promise<void> {
  const original = originalOfTaken(name);
  if (original !== undefined) return restoreStaleTaken(run, dir, name, original);
  const agentFile = parseAgentFileName(name);
  if (!agentFile) return;
  const { rawId, rawTag, kind, errorBase } = agentFile;
  const path = join(dir, name);
  const rel = `${TicketState.claimed}/${worker}/${name}`;
  if (!isSafeBaseName(errorBase, ERROR_SUFFIX)) {
    const q = await quarantineFile(run.ctx, path, `${rel}: no error file can be named after this file`);
    if (q) run.log({ action: 'quarantined', worker_id: worker, file: rel, note: `unusable file name; moved to ${q}` });
    return;
  }
  const read = await readAgentFile(run.ctx.fs, path);
  if (read.kind === 'gone') return run.memory.forget(path);
  const f: WorkerFile = { dir, worker, name, path, rel, rawId, rawTag, errorBase, fingerprint: read.kind === 'text' ? read.fingerprint : '' };
  if (read.kind !== 'text') {
    const error = unreadableError(read, rel);
    await answer(run, f, error);
    await quarantineFile(run.ctx, path, error.message);
    return;
  }
  if (run.memory.wasAnswered(path, read.fingerprint)) return;
  const parsed = parseAgentJson(kind, read.text, read.binary, rel);
  if (!parsed.ok) {
    if (parsed.unparseable && !run.memory.hasSettled(path, read.fingerprint, nowMs(run), run.settle.fileMs)) return;
    return answer(run, f, parsed.error);
  }
  try {
    validateId(worker, 'worker id');
    validateId(rawId, 'ticket id');
    if (rawTag !== undefined) validateId(rawTag, 'file tag');
  } catch (err) {
    return answer(run, f, { ...agentErrorOf(err), message: `${rel}: ${(err as Error).message}`, hint: `write it as ${TicketState.claimed}/<your-worker-id>/${agentFileName('<ticket-id>', kind, '<n>')}, using the ticket_id of a ticket you hold and a tag <n> new for each file (a counter or a timestamp)` });
  }
  if (kind === 'result') return submitResult(run, f, parsed.value as AgentValues['result']);
  return moveHeld(run, f, kind, parsed.value as AgentValues['heartbeat'] & AgentValues['release']);
}

/** Write the error file and remember this version as answered (answered again only once it changes). */
async function answer(run: DaemonRun, f: WorkerFile, error: AgentError): Promise<void> {
  await writeAgentErrorFile(run, errorTargetOf(f), error);
  if (f.fingerprint !== '') run.memory.markAnswered(f.path, f.fingerprint, nowMs(run));
  run.log({ action: 'refused', worker_id: f.worker, ticket_id: f.rawId, file: f.rel, error: { code: error.code, message: error.message } });
}

function errorTargetOf(f: WorkerFile): ErrorTarget {
  return { workerDir: f.dir, errorBase: f.errorBase, rawTicketId: f.rawId, rel: f.rel };
}

async function submitResult(run: DaemonRun, f: WorkerFile, result: AgentValues['result']): Promise<void> {
  const ticketId = f.rawId;
  const held = await isRegularFile(run.ctx.fs, join(f.dir, ticketFileName(ticketId)));
  if (!held && !(await isRegularFile(run.ctx.fs, registryPath(run.ctx, stageOfTicketId(ticketId), ticketId)))) {
    // Why: keep the result: it holds the agent's work, filed under a ticket id that does not exist.
    return answer(run, f, {
      code: 'NOT_FOUND',
      message: `${f.rel}: there is no ticket ${ticketId} in this run`,
      field: null,
      hint: `check the ticket id: write your result as ${TicketState.claimed}/${f.worker}/${agentFileName('<ticket-id>', AgentFileKind.result, '<n>')} for a ticket in ${TicketState.claimed}/${f.worker}/`,
    });
  }
  try {
    // Why the lock: the submit cascades inline; the event of the parent landing in completed/
    // then finds the marker instead of cascading it a second time beside us.
    const r = await run.locks.with(cascadeLockKey(ticketId), () => submitTicket(run.ctx, {
      ticketId,
      workerId: f.worker,
      output: result.output_data,
      ...(result.worker_concerns ? { concerns: result.worker_concerns } : {}),
      ...(result.usage ? { usage: result.usage } : {}),
      ...(result.status ? { status: result.status } : {}),
      ...(result.token !== undefined ? { token: result.token } : {}),
      outputFile: f.rel,
      outputPointer: '/output_data',
    }));
    // Why: the ticket has moved on, so this result (in any version) has done its job.
    await unlinkIfExists(run.ctx, f.path);
    await unlinkIfExists(run.ctx, errorFilePath(f.dir, f.errorBase));
    run.memory.forget(f.path);
    const kids = r.cascade ? `; children: ${r.cascade.created.length} created, ${r.cascade.deduplicated.length} already existed` : '';
    run.log({ action: r.repeated ? 'already submitted' : 'submitted', worker_id: f.worker, ticket_id: ticketId, note: `-> ${r.ticket.status}${kids}` });
  } catch (err) {
    if (isTqError(err, 'LEASE_LOST')) {
      // The output is kept in rejected/ by submitTicket; the result file has nothing left to do.
      await writeAgentErrorFile(run, errorTargetOf(f), agentErrorOf(err));
      await unlinkIfExists(run.ctx, f.path);
      run.memory.forget(f.path);
      run.log({ action: 'refused', worker_id: f.worker, ticket_id: ticketId, error: { code: err.code, message: err.message } });
      return;
    }
    // Why: disk trouble is not the agent's fault: log it and try again on the next pass.
    if (!isTqError(err) || err.code === 'IO_ERROR') throw err;
    await answer(run, f, agentErrorOf(err));
  }
}

async function moveHeld(run: DaemonRun, f: WorkerFile, kind: 'heartbeat' | 'release', value: { lease?: string | number; reason?: string }): Promise<void> {
  const taken = await takeUnchanged(run, f.dir, f.name, f.fingerprint);
  if (taken === undefined) return;
  const opts = { ticketId: f.rawId, workerId: f.worker };
  let note: string;
  try {
    if (kind === 'heartbeat') {
      const r = await heartbeatTicket(run.ctx, { ...opts, ...(value.lease !== undefined ? { lease: value.lease } : {}) });
      note = `lease now ends ${r.ticket.claim?.lease_expires_at}`;
    } else {
      await releaseTicket(run.ctx, { ...opts, ...(value.reason !== undefined ? { reason: value.reason } : {}) });
      note = 'back to pending';
      await unlinkIfExists(run.ctx, errorFilePath(f.dir, f.errorBase));
    }
  } catch (err) {
    if (!isTqError(err) || err.code === 'IO_ERROR') {
      await putBack(run.ctx, taken, f.path);
      throw err;
    }
    // The ticket is not ours any more (or the lease was bad): retrying this file cannot help.
    await writeAgentErrorFile(run, errorTargetOf(f), agentErrorOf(err));
    await unlinkIfExists(run.ctx, taken);
    run.log({ action: 'refused', worker_id: f.worker, ticket_id: f.rawId, file: f.rel, error: { code: err.code, message: err.message } });
    return;
  }
  await unlinkIfExists(run.ctx, taken);
  run.memory.forget(f.path);
  run.log({ action: kind === 'heartbeat' ? 'heartbeat' : 'released', worker_id: f.worker, ticket_id: f.rawId, note });
}

