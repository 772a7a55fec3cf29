import { join } from 'node:path';
import { errnoCode, isTqError } from '../model/errors.js';
import { ticketIdOfFileName } from '../store/run-names.js';
import { ALL_STATES, TicketState } from '../model/states.js';
import { stateDir, type RunCtx } from '../store/run-context.js';
import { parseTicket, serializeTicket, withHistory } from '../model/serialize-ticket.js';
import { registryPath } from '../protocol/birth-ticket.js';
import { cascadeTicket, cascadeMarkerPath, readCascadeMarker } from '../ops/cascade-ticket.js';
import { rulesFrom } from '../model/pipeline.js';
import { quarantineFile } from '../store/quarantine.js';
import { recoverMoving, settledListing, type RecoveryAction } from '../protocol/recover-moving.js';
import { reapExpired, leaseTrustLimitMs } from '../ops/reap-claims.js';
import { createFileExclusive, listDir, readIfExists, unlinkIfExists, writeFileAtomic } from '../store/atomic-write.js';
import { stageOfTicketId } from '../model/ids.js';
import { isInFlight, locateAll } from '../protocol/locate-ticket.js';
import type { Ticket } from '../model/ticket-schema.js';

export interface FsckProblem {
  kind:
    | 'corrupt' | 'misnamed' | 'misplaced' | 'stray_file' | 'symlink' | 'duplicate' | 'lost' | 'unregistered'
    | 'cascade_pending' | 'child_missing' | 'unstamped_claim' | 'lease_skew' | 'temp_files' | 'in_flight' | 'status_mismatch';
  file: string;
  message: string;
  ticket_id?: string;
  /** What --repair did about it. */
  repaired?: string;
}

export interface FsckReport {
  run_id: string;
  ok: boolean;
  tickets: number;
  by_state: Record<TicketState, number>;
  problems: FsckProblem[];
  recovered: RecoveryAction[];
}

interface Found {
  id: string;
  state: TicketState;
  path: string;
  ticket: Ticket;
}

const PRECEDENCE: Record<TicketState, number> = { completed: 5, failed: 4, needs_review: 3, claimed: 2, pending: 1 };
const AGENT_FILE_RE = /\.(result|error|heartbeat|release)\.json$/;

/**
 * Check every invariant of a run: each ticket is a valid file in exactly one state, every
 * ticket ever created (registry/) still exists, every completed parent has cascaded, nothing
 * is left half-moved. With `repair`, mend what a crash, a git merge or a hand edit can leave.
 */
export async function fsckRun(ctx: RunCtx, opts: { repair?: boolean; settleMs?: number } = {}): Promise<FsckReport> {
  const repair = opts.repair ?? false;
  const settleMs = opts.settleMs ?? 2000;
  const problems: FsckProblem[] = [];
  const recovered = repair ? await recoverMoving(ctx, settleMs) : [];
  if (!repair) {
    for (const name of await listDir(ctx, ctx.paths.moving)) {
      problems.push({ kind: 'in_flight', file: join(ctx.paths.moving, name), message: 'a move in flight or interrupted by a crash (run with --repair to finish it)' });
    }
  }
  const found: Found[] = [];
  const unacceptable = new Set<string>();
  const quarantine = async (p: FsckProblem): Promise<void> => {
    unacceptable.add(p.file);
    if (repair) {
      const q = await quarantineFile(ctx, p.file, p.message);
      p.repaired = q ? `moved to ${q}` : 'already gone';
    }
    problems.push(p);
  };

  const stages = new Set(Object.keys(ctx.config.pipeline.stages));
  for (const state of ALL_STATES) {
    const top = join(ctx.paths.dir, state);
    for (const sub of await listDir(ctx, top)) {
      const subPath = join(top, sub);
      const st = await ctx.fs.lstat(subPath).catch(() => undefined);
      if (!st) continue;
      if (st.isSymbolicLink()) {
        await quarantine({ kind: 'symlink', file: subPath, message: `${subPath} is a symlink; ticketq never follows links out of a run` });
        continue;
      }
      if (!st.isDirectory()) {
        await quarantine({ kind: 'misplaced', file: subPath, message: `${subPath} is a file directly in ${state}/; tickets live in ${state}/${state === 'claimed' ? '<worker-id>' : '<stage>'}/` });
        continue;
      }
      if (state !== 'claimed' && !stages.has(sub)) {
        problems.push({ kind: 'stray_file', file: subPath, message: `${subPath}: "${sub}" is not a stage of this run` });
        continue;
      }
      for (const name of await listDir(ctx, subPath)) {
        const path = join(subPath, name);
        if (name.startsWith('.')) continue;
        if (state === 'claimed' && AGENT_FILE_RE.test(name)) continue;
        const id = ticketIdOfFileName(name);
        const est = await ctx.fs.lstat(path).catch(() => undefined);
        if (!est) continue;
        if (est.isSymbolicLink()) {
          await quarantine({ kind: 'symlink', file: path, message: `${path} is a symlink; ticketq never follows links out of a run` });
          continue;
        }
        if (id === undefined || !est.isFile()) {
          await quarantine({ kind: 'stray_file', file: path, message: `${path} is not a ticket file (<ticket-id>.json)` });
          continue;
        }
        let ticket: Ticket;
        try {
          ticket = parseTicket(await ctx.fs.readFile(path), path);
        } catch (err) {
          // RACE: moved on since we listed it; the census of its new place counts it.
          if (errnoCode(err) === 'ENOENT') continue;
          if (!isTqError(err, 'CORRUPT_TICKET')) throw err;
          await quarantine({ kind: 'corrupt', file: path, ticket_id: id, message: err.message });
          continue;
        }
        if (ticket.ticket_id !== id) {
          await quarantine({ kind: 'misnamed', file: path, ticket_id: id, message: `${path}: field ticket_id is "${ticket.ticket_id}" but the file is named ${name}` });
          continue;
        }
        const expectedStage = state === 'claimed' ? stageOfTicketId(id) : sub;
        if (ticket.worker_type !== expectedStage || stageOfTicketId(id) !== ticket.worker_type) {
          await quarantine({ kind: 'misplaced', file: path, ticket_id: id, message: `${path}: field worker_type is "${ticket.worker_type}" but the file is in ${state}/${sub}/` });
          continue;
        }
        found.push({ id, state, path, ticket });
      }
    }
  }

  // Each id in exactly one state. RACE: the listings are taken one after another, so a ticket
  // moving meanwhile can show up twice (or not at all, below): suspects are checked again,
  // path by path, after the settle time, and only what is still wrong is reported or repaired.
  const byId = new Map<string, Found[]>();
  for (const f of found) byId.set(f.id, [...(byId.get(f.id) ?? []), f]);
  const registered = new Set<string>();
  const unlisted: { id: string; reg: string }[] = [];
  for (const stage of await listDir(ctx, ctx.paths.registry)) {
    for (const name of await listDir(ctx, join(ctx.paths.registry, stage))) {
      const id = ticketIdOfFileName(name);
      if (id === undefined) continue;
      registered.add(id);
      if (!byId.has(id)) unlisted.push({ id, reg: join(ctx.paths.registry, stage, name) });
    }
  }
  const doubled = [...byId].filter(([, copies]) => copies.length > 1).map(([id]) => id);
  if ((doubled.length > 0 || unlisted.length > 0) && settleMs > 0) await new Promise((r) => setTimeout(r, settleMs));
  for (const id of doubled) {
    const copies = await locateAll(ctx, id);
    if (copies.length < 2) {
      const still = (byId.get(id) ?? []).filter((f) => copies.some((c) => c.path === f.path));
      byId.set(id, still.length > 0 ? still : (byId.get(id) ?? []).slice(0, 1));
      continue;
    }
    copies.sort((a, b) => PRECEDENCE[b.state] - PRECEDENCE[a.state]);
    const keep = copies[0] as (typeof copies)[number];
    for (const extra of copies.slice(1)) {
      await quarantine({ kind: 'duplicate', file: extra.path, ticket_id: id, message: `${id} is in ${extra.state}/ and also in ${keep.state}/ (${keep.path}); the ${keep.state} copy is kept` });
    }
    byId.set(id, (byId.get(id) ?? []).filter((f) => f.path === keep.path).slice(0, 1));
  }

  // Every ticket ever created still exists; every ticket has a birth record.
  for (const { id, reg } of unlisted) {
    // A copy fsck itself found unacceptable (corrupt, misnamed...) does not count as the ticket.
    if ((await locateAll(ctx, id)).some((l) => !unacceptable.has(l.path))) continue;
    // Without --repair, interrupted moves were not finished: report those tickets as lost too.
    if (repair && (await isInFlight(ctx, id))) continue;
    const p: FsckProblem = { kind: 'lost', file: reg, ticket_id: id, message: `${id} was created (${reg}) but is in no state directory` };
    if (repair) {
      const restored = await restoreFromRegistry(ctx, reg);
      if (restored !== undefined) p.repaired = restored;
      else p.message += ` and its birth record ${reg} is not a valid ticket: fix it by hand`;
    }
    problems.push(p);
  }
  for (const [id, [f]] of byId) {
    if (!f || registered.has(id)) continue;
    const reg = registryPath(ctx, f.ticket.worker_type, id);
    const p: FsckProblem = { kind: 'unregistered', file: f.path, ticket_id: id, message: `${id} has no birth record in registry/ (added by hand?)` };
    if (repair) {
      await writeFileAtomic(ctx, reg, serializeTicket(f.ticket));
      p.repaired = `recorded in ${reg}`;
    }
    problems.push(p);
  }

  // Claims: unstamped claims and implausible leases (the reaper repairs both).
  const now = ctx.clock.now().getTime();
  for (const [id, [f]] of byId) {
    if (!f || f.state !== 'claimed') continue;
    const worker = f.path.split('/').slice(-2)[0] ?? '';
    if (!f.ticket.claim || f.ticket.claim.worker_id !== worker) {
      problems.push({ kind: 'unstamped_claim', file: f.path, ticket_id: id, message: `${f.path} has no claim record for ${worker} (a claimer died mid-claim)`, ...(repair ? { repaired: 'adopted by the reaper below' } : {}) });
    } else if (Date.parse(f.ticket.claim.lease_expires_at) - now > leaseTrustLimitMs(ctx, f.ticket.worker_type)) {
      problems.push({ kind: 'lease_skew', file: f.path, ticket_id: id, message: `lease_expires_at ${f.ticket.claim.lease_expires_at} is implausibly far ahead (clock skew or hand edit)`, ...(repair ? { repaired: 'clamped by the reaper below' } : {}) });
    }
  }
  if (repair) await reapExpired(ctx);

  // Cascades: every completed parent has its marker, and every child it names exists.
  for (const [id, [f]] of byId) {
    if (!f || f.state !== 'completed' || rulesFrom(ctx.config.pipeline, f.ticket.worker_type).length === 0) continue;
    const marker = await readCascadeMarker(ctx, id);
    if (!marker) {
      const p: FsckProblem = { kind: 'cascade_pending', file: f.path, ticket_id: id, message: `${id} is completed but its children were not (all) created` };
      if (repair) {
        const m = await cascadeTicket(ctx, f.ticket);
        p.repaired = `cascaded: ${m?.created.length ?? 0} created, ${m?.deduplicated.length ?? 0} already existed`;
      }
      problems.push(p);
      continue;
    }
    const missing = marker.children.filter((c) => !registered.has(c) && !byId.has(c));
    if (missing.length > 0) {
      const p: FsckProblem = { kind: 'child_missing', file: cascadeMarkerPath(ctx, id), ticket_id: id, message: `${id} is marked cascaded but ${missing.length} child(ren) do not exist (e.g. ${missing[0]})` };
      if (repair) {
        await unlinkIfExists(ctx, cascadeMarkerPath(ctx, id));
        const m = await cascadeTicket(ctx, f.ticket);
        p.repaired = `re-cascaded: ${m?.created.length ?? 0} created`;
      }
      problems.push(p);
    }
  }

  // Temp files are never part of a state; after a crash they are just litter.
  const temps = await settledListing(ctx, ctx.paths.tmp, repair ? settleMs : 0);
  if (temps.length > 0) {
    const p: FsckProblem = { kind: 'temp_files', file: ctx.paths.tmp, message: `${temps.length} temp file(s) left by interrupted writes` };
    if (repair) {
      for (const t of temps) await unlinkIfExists(ctx, join(ctx.paths.tmp, t));
      p.repaired = 'removed';
    }
    problems.push(p);
  }

  const by_state: Record<TicketState, number> = { pending: 0, claimed: 0, completed: 0, failed: 0, needs_review: 0 };
  for (const [, [f]] of byId) if (f) by_state[f.state] += 1;
  const unresolved = problems.filter((p) => p.repaired === undefined && p.kind !== 'in_flight');
  return { run_id: ctx.runId, ok: unresolved.length === 0, tickets: byId.size, by_state, problems, recovered };
}

/** Put a lost ticket back into pending/ from its birth record (it will be done again). */
async function restoreFromRegistry(ctx: RunCtx, reg: string): Promise<string | undefined> {
  const text = await readIfExists(ctx, reg);
  if (text === undefined) return 'registry entry vanished';
  let born: Ticket;
  try {
    born = parseTicket(text, reg);
  } catch (err) {
    // Why: a damaged birth record must not stop the repair of everything else; the problem
    // stays unrepaired (fsck not ok) so a human looks at it.
    if (isTqError(err, 'CORRUPT_TICKET')) return undefined;
    throw err;
  }
  const now = ctx.clock.now().toISOString();
  const restored: Ticket = { ...born, history: withHistory(born, { at: now, event: 'restored by fsck', to: 'pending', note: 'ticket was missing from every state directory' }) };
  const target = join(stateDir(ctx, 'pending', born.worker_type), `${born.ticket_id}.json`);
  // RACE: created with link (O_EXCL): if the ticket reappeared meanwhile, it is not overwritten.
  const ok = await createFileExclusive(ctx, target, serializeTicket(restored));
  return ok ? `restored to ${target}` : 'reappeared meanwhile; left alone';
}

