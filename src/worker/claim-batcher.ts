import type { ClaimResult } from '../core/ops/claim-ticket.js';

/** One claimTickets call for `max` tickets: the tickets, or undefined when the call failed (the fetcher reports why). */
export type ClaimFetch = (max: number) => Promise<ClaimResult[] | undefined>;

/**
 * Hands the slots of a worker their claims, taking them in batches: a slot that needs a ticket
 * joins the claimTickets call in flight, or starts one for every slot that is free (not running
 * a job, not holding a ticket handed out but not yet started). So C idle slots make one call for
 * C tickets, not C calls for one. Why never more than the free slots: a ticket claimed ahead
 * waits with its lease running and no heartbeat.
 */
export class ClaimBatcher {
  private ready: ClaimResult[] = [];
  private inFlight: Promise<ClaimResult[] | undefined> | undefined;
  /** Tickets handed to a slot that has not started its job yet (started() ends that). */
  private handedOut = 0;

  /** `free`: the slots not running a job now. */
  constructor(
    private readonly fetch: ClaimFetch,
    private readonly free: () => number,
  ) {}

  /** A ticket for one slot: null when nothing is claimable, undefined when the claim failed. */
  async next(): Promise<ClaimResult | null | undefined> {
    for (;;) {
      const ready = this.ready.shift();
      if (ready) {
        this.handedOut += 1;
        return ready;
      }
      const call = (this.inFlight ??= this.startFetch());
      const got = await call;
      // Why look again when this call brought nothing left for us: the others of this call took
      // them; a slot that still wants one starts the next call. Nothing or an error ends it.
      if (got === undefined) return undefined;
      if (got.length === 0 && this.ready.length === 0) return null;
    }
  }

  /** The slot that took a ticket from next() has started its job on it (or given it back). */
  started(): void {
    this.handedOut = Math.max(0, this.handedOut - 1);
  }

  /** No ticket is waiting for a slot nor on its way to a job (a slot may stop as drained). */
  get idle(): boolean {
    return this.ready.length === 0 && this.handedOut === 0 && this.inFlight === undefined;
  }

  /** The tickets claimed but not handed to any slot (give them back when the worker stops). */
  takeLeftovers(): ClaimResult[] {
    const left = this.ready;
    this.ready = [];
    return left;
  }

  private async startFetch(): Promise<ClaimResult[] | undefined> {
    try {
      const max = Math.max(1, this.free() - this.handedOut);
      const got = await this.fetch(max);
      if (got) this.ready.push(...got);
      return got;
    } finally {
      this.inFlight = undefined;
    }
  }
}
