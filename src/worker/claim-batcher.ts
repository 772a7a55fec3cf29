import type { ClaimResult } from '../core/ops/claim-ticket.js';

/** One claimTickets call for `max` tickets: the tickets, or undefined when the call failed (the fetcher reports why). */
export type ClaimFetch = (max: number) => Promise<ClaimResult[] | undefined>;

/**
 * Hands the slots of a worker their claims, taking them in batches: a slot that needs a ticket
 * joins a claimTickets call in flight that has room for it, or starts one for every slot that is
 * free and not yet provided for (not running a job, not holding a ticket handed out but not yet
 * started, not counted in a call in flight). So C idle slots make one call for C tickets, not C
 * calls for one; slots that free up one by one each start their own call at once, as before
 * (never waiting for another slot's call). Why never more than the free slots: a ticket
 * claimed ahead waits with its lease running and no heartbeat.
 */
export class ClaimBatcher {
  private ready: ClaimResult[] = [];
  /** Tickets handed to a slot that has not started its job yet (started() ends that). */
  private handedOut = 0;
  /** Slots inside next(), waiting for a ticket. */
  private waiters = 0;
  /** Tickets the calls in flight asked for. */
  private asked = 0;
  private readonly calls = new Set<Promise<ClaimResult[] | undefined>>();

  /** `free`: the slots not running a job now. */
  constructor(
    private readonly fetch: ClaimFetch,
    private readonly free: () => number,
  ) {}

  /** A ticket for one slot: null when nothing is claimable, undefined when the claim failed. */
  async next(): Promise<ClaimResult | null | undefined> {
    this.waiters += 1;
    try {
      for (;;) {
        const ready = this.ready.shift();
        if (ready) {
          this.handedOut += 1;
          return ready;
        }
        const call = this.waiters > this.asked ? this.startFetch() : (this.calls.values().next().value as Promise<ClaimResult[] | undefined>);
        const got = await call;
        // Why look again when the call brought nothing left for us: the other slots took what it
        // brought; a slot that still wants one starts the next call. Nothing or an error ends it.
        if (got === undefined) return undefined;
        if (got.length === 0 && this.ready.length === 0) return null;
      }
    } finally {
      this.waiters -= 1;
    }
  }

  /** The slot that took a ticket from next() has started its job on it (or given it back). */
  started(): void {
    this.handedOut = Math.max(0, this.handedOut - 1);
  }

  /** No ticket is waiting for a slot nor on its way to a job (a slot may stop as drained). */
  get idle(): boolean {
    return this.ready.length === 0 && this.handedOut === 0 && this.calls.size === 0;
  }

  /** The tickets claimed but not handed to any slot (give them back when the worker stops). */
  takeLeftovers(): ClaimResult[] {
    const left = this.ready;
    this.ready = [];
    return left;
  }

  private startFetch(): Promise<ClaimResult[] | undefined> {
    const max = Math.max(1, this.free() - this.handedOut - this.asked);
    this.asked += max;
    const call: Promise<ClaimResult[] | undefined> = this.fetch(max)
      .then(
        (got) => {
          if (got) this.ready.push(...got);
          return got;
        },
        () => undefined,
      )
      .finally(() => {
        this.asked -= max;
        this.calls.delete(call);
      });
    this.calls.add(call);
    return call;
  }
}
