/**
 * An agent that can only read, write and list files (no rename, no delete, no mkdir, no shell),
 * following the run's AGENTS.md. Keep it that way: these three imports are the whole toolbox.
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { waitFor } from '../helpers/wait-for.js';

type Json = Record<string, unknown>;

async function readJsonFile(path: string): Promise<Json | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Json;
  } catch {
    return undefined;
  }
}

async function names(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

export class FileOnlyAgent {
  private seq = 0;

  constructor(
    private readonly runDir: string,
    readonly worker: string,
    /** How long each step may take on an idle machine (waitFor paces it on a busy one). */
    private readonly idleMs = 15_000,
  ) {}

  /** Steps 1-2: write a request, wait for the reply carrying our request_id. */
  async request(stage: string): Promise<Json> {
    this.seq += 1;
    const requestId = `${this.worker}-${this.seq}`;
    await writeFile(join(this.runDir, 'requests', `${this.worker}.json`), JSON.stringify({ stage, request_id: requestId }));
    return waitFor(async () => {
      const r = await readJsonFile(join(this.runDir, 'requests', `${this.worker}.reply.json`));
      return r?.request_id === requestId ? r : undefined;
    }, this.idleMs, `a reply to ${requestId}`);
  }

  /** Step 3: the ticket named in a reply. */
  async ticket(reply: Json): Promise<Json> {
    const t = await readJsonFile(join(this.runDir, String(reply.ticket_path)));
    if (!t) throw new Error(`cannot read ${String(reply.ticket_path)}`);
    return t;
  }

  private mine(): string {
    return join(this.runDir, 'claimed', this.worker);
  }

  /** Steps 4-5: write the result, wait until the ticket has left claimed/ (or an error file came). */
  async submit(ticketId: string, result: Json): Promise<{ accepted: boolean; error?: Json }> {
    const errorFile = join(this.mine(), `${ticketId}.error.json`);
    // An error file about an earlier version stays until the daemon sees the new one: only an
    // error with another `at` is about what we write now (AGENTS.md, step 5).
    const earlier = (await readJsonFile(errorFile))?.at;
    await writeFile(join(this.mine(), `${ticketId}.result.json`), JSON.stringify(result, null, 2));
    return waitFor(async () => {
      const here = await names(this.mine());
      const error = here.includes(`${ticketId}.error.json`) ? await readJsonFile(errorFile) : undefined;
      if (error && error.at !== earlier) return { accepted: false, error };
      if (here.includes(`${ticketId}.json`) || here.includes(`${ticketId}.result.json`)) return undefined;
      return { accepted: true };
    }, this.idleMs, `${ticketId} to be accepted`);
  }

  /** Step 6: heartbeat; done when the ticket shows a later lease end. Returns it. */
  async heartbeat(ticketId: string, lease?: string): Promise<string> {
    const ticketFile = join(this.mine(), `${ticketId}.json`);
    const leaseOf = async (): Promise<string | undefined> => {
      const t = await readJsonFile(ticketFile);
      const v = (t?.claim as Json | undefined)?.lease_expires_at;
      return typeof v === 'string' ? v : undefined;
    };
    // Why waitFor: the ticket file is briefly absent while any move rewrites it.
    const before = await waitFor(leaseOf, this.idleMs, `${ticketId} to be readable`);
    await writeFile(join(this.mine(), `${ticketId}.heartbeat.json`), JSON.stringify(lease ? { lease } : {}));
    return waitFor(async () => {
      const now = await leaseOf();
      return now !== undefined && now !== before && !(await names(this.mine())).includes(`${ticketId}.heartbeat.json`) ? now : undefined;
    }, this.idleMs, `heartbeat of ${ticketId} to extend the lease`);
  }

  /** Step 7: give it back; done when the ticket has left claimed/. */
  async release(ticketId: string): Promise<void> {
    await writeFile(join(this.mine(), `${ticketId}.release.json`), '{}');
    await waitFor(async () => {
      const here = await names(this.mine());
      return !here.includes(`${ticketId}.json`) && !here.includes(`${ticketId}.release.json`);
    }, this.idleMs, `release of ${ticketId}`);
  }
}
