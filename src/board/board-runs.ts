import { openRun, type RunCtx } from '../core/store/run-context.js';
import { nodeFs } from '../core/store/fs-layer.js';
import { listRuns, listTickets, type TicketEntry } from '../core/views/list-tickets.js';
import { createRunWatcher, type RunSnapshot, type RunWatcher } from '../core/views/run-snapshot.js';
import { readAllTickets } from '../core/views/read-all-tickets.js';
import { CONCERN_LEVELS, type ConcernLevel } from '../core/model/states.js';

/** What the filters need of a ticket's body (read once per generation, only when a filter asks). */
export interface TicketFacts {
  worker_id?: string;
  levels: Set<ConcernLevel>;
  source_refs: string[];
}

interface RunEntry {
  ctx: RunCtx;
  watcher: RunWatcher;
  generation: number;
  listing?: { generation: number; entries: Promise<TicketEntry[]> };
  snapshot?: { generation: number; at: number; value: Promise<RunSnapshot> };
  facts?: { generation: number; at: number; value: Promise<Map<string, TicketFacts>> };
}

/** A snapshot older than this is taken again even without a change (leases run down, rates drift). */
const SNAPSHOT_MAX_AGE_MS = 2000;
/** Reading every ticket body is the costly step: at most this often while tickets keep moving. */
const FACTS_MIN_AGE_MS = 3000;

/**
 * The runs under the root, each opened once, with what the pages ask for cached per
 * "generation": a counter the watcher bumps when a run's directories change. Why: the run page
 * asks for a page of rows per column and per scroll; listing 100,000 names once per change, not
 * once per request, keeps scrolling smooth.
 */
export class BoardRuns {
  readonly #root: string;
  readonly #runs = new Map<string, Promise<RunEntry>>();

  constructor(root: string) {
    this.#root = root;
  }

  async runIds(): Promise<string[]> {
    return listRuns(this.#root, nodeFs);
  }

  /** A change was seen in the run's directories. */
  touch(run: string): void {
    void this.#runs.get(run)?.then((e) => (e.generation += 1), () => undefined);
  }

  async #entry(run: string): Promise<RunEntry> {
    let entry = this.#runs.get(run);
    if (entry === undefined) {
      entry = openRun(this.#root, run).then((ctx) => ({ ctx, watcher: createRunWatcher(ctx), generation: 0 }));
      this.#runs.set(run, entry);
      // Why: a run that does not exist (yet) must be looked for again next time.
      entry.catch(() => this.#runs.delete(run));
    }
    return entry;
  }

  async ctx(run: string): Promise<RunCtx> {
    return (await this.#entry(run)).ctx;
  }

  async snapshot(run: string): Promise<RunSnapshot> {
    const e = await this.#entry(run);
    const now = Date.now();
    if (e.snapshot === undefined || e.snapshot.generation !== e.generation || now - e.snapshot.at > SNAPSHOT_MAX_AGE_MS) {
      e.snapshot = { generation: e.generation, at: now, value: e.watcher.snapshot() };
      e.snapshot.value.catch(() => (e.snapshot = undefined));
    }
    return e.snapshot.value;
  }

  /** Every ticket of the run from directory listings (no body read), as `tq list` gives them. */
  async listing(run: string): Promise<TicketEntry[]> {
    const e = await this.#entry(run);
    if (e.listing === undefined || e.listing.generation !== e.generation) {
      e.listing = { generation: e.generation, entries: listTickets(e.ctx) };
      e.listing.entries.catch(() => (e.listing = undefined));
    }
    return e.listing.entries;
  }

  /** Worker, concern levels and source refs of every ticket, by id (reads every body). */
  async facts(run: string): Promise<Map<string, TicketFacts>> {
    const e = await this.#entry(run);
    const now = Date.now();
    if (e.facts === undefined || (e.facts.generation !== e.generation && now - e.facts.at > FACTS_MIN_AGE_MS)) {
      e.facts = { generation: e.generation, at: now, value: readFacts(e.ctx) };
      e.facts.value.catch(() => (e.facts = undefined));
    }
    return e.facts.value;
  }
}

async function readFacts(ctx: RunCtx): Promise<Map<string, TicketFacts>> {
  const facts = new Map<string, TicketFacts>();
  for (const { entry, ticket } of await readAllTickets(ctx)) {
    const levels = new Set<ConcernLevel>(ticket.worker_concerns.map((c) => c.level).filter((l) => CONCERN_LEVELS.includes(l)));
    const worker = entry.worker_id ?? ticket.claim?.worker_id;
    facts.set(entry.ticket_id, { ...(worker !== undefined ? { worker_id: worker } : {}), levels, source_refs: ticket.lineage.source_refs });
  }
  return facts;
}
