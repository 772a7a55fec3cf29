/**
 * An agent that can only read, write, list and delete files (no rename, no mkdir, no shell),
 * following the run's AGENTS.md: every file it writes has a name it never used before
 * (`<worker>~<request-id>.json`, `<ticket-id>~<tag>.<kind>.json`), and it deletes the replies it
 * has read. Keep it that way: these four imports are the whole toolbox.
 */
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
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

  /** The names this agent has written (to check it never writes one twice). */
  readonly written: string[] = [];

  private nextTag(): string {
    this.seq += 1;
    return String(this.seq);
  }

  private async write(path: string, text: string): Promise<void> {
    this.written.push(path);
    await writeFile(path, text);
  }

  /** Steps 1-2: write a request under a new request id, wait for its reply, delete the reply. */
  async request(stage: string): Promise<Json> {
    const requestId = this.nextTag();
    await this.write(join(this.runDir, 'requests', `${this.worker}~${requestId}.json`), JSON.stringify({ stage }));
    const replyPath = join(this.runDir, 'requests', `${this.worker}~${requestId}.reply.json`);
    const reply = await waitFor(async () => {
      const r = await readJsonFile(replyPath);
      return r?.request_id === requestId ? r : undefined;
    }, this.idleMs, `a reply to ${requestId}`);
    await rm(replyPath);
    return reply;
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

  /**
   * Steps 4-5: write the result under a new tag, wait until the ticket has left claimed/ (or its
   * error file came: then delete it and the refused result, as AGENTS.md says).
   */
  async submit(ticketId: string, result: Json): Promise<{ accepted: boolean; error?: Json }> {
    const tag = this.nextTag();
    const resultName = `${ticketId}~${tag}.result.json`;
    const errorName = `${ticketId}~${tag}.result.error.json`;
    await this.write(join(this.mine(), resultName), JSON.stringify(result, null, 2));
    const outcome = await waitFor(async () => {
      const here = await names(this.mine());
      const error = here.includes(errorName) ? await readJsonFile(join(this.mine(), errorName)) : undefined;
      if (error) return { accepted: false, error };
      if (here.includes(`${ticketId}.json`) || here.includes(resultName)) return undefined;
      return { accepted: true };
    }, this.idleMs, `${ticketId} to be accepted`);
    if (!outcome.accepted) await Promise.all([rm(join(this.mine(), errorName)), rm(join(this.mine(), resultName), { force: true })]);
    return outcome;
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
    const name = `${ticketId}~${this.nextTag()}.heartbeat.json`;
    await this.write(join(this.mine(), name), JSON.stringify(lease ? { lease } : {}));
    return waitFor(async () => {
      const now = await leaseOf();
      return now !== undefined && now !== before && !(await names(this.mine())).includes(name) ? now : undefined;
    }, this.idleMs, `heartbeat of ${ticketId} to extend the lease`);
  }

  /** Step 7: give it back; done when the ticket has left claimed/. */
  async release(ticketId: string): Promise<void> {
    const name = `${ticketId}~${this.nextTag()}.release.json`;
    await this.write(join(this.mine(), name), '{}');
    await waitFor(async () => {
      const here = await names(this.mine());
      return !here.includes(`${ticketId}.json`) && !here.includes(name);
    }, this.idleMs, `release of ${ticketId}`);
  }
}
