/** What a page does when runs change: `runs` names them, or is undefined (unknown: a poll). */
export type ChangeHandler = (runs: string[] | undefined) => void;

const POLL_MS = 2000;
/** Even without a change, redraw now and then: leases run down, rates and ETAs drift. */
const TICK_MS = 10_000;

/**
 * One EventSource for the whole page; the current page's handler hears every change. When the
 * stream fails (or EventSource is missing) the page polls every 2 s until it comes back.
 */
export class Live {
  #handler: ChangeHandler | undefined;
  #poll: number | undefined;
  readonly #status: HTMLElement;

  constructor(status: HTMLElement) {
    this.#status = status;
    window.setInterval(() => this.#handler?.(undefined), TICK_MS);
    if (typeof EventSource === 'undefined') {
      this.#startPolling();
      return;
    }
    const es = new EventSource('/api/events');
    es.addEventListener('open', () => this.#stopPolling());
    es.addEventListener('change', (ev) => {
      const data = JSON.parse((ev as MessageEvent<string>).data) as { runs: string[] };
      this.#handler?.(data.runs.length > 0 ? data.runs : undefined);
    });
    es.addEventListener('error', () => this.#startPolling());
  }

  /** The page now shown listens; the previous one no longer does. */
  listen(handler: ChangeHandler | undefined): void {
    this.#handler = handler;
  }

  #startPolling(): void {
    this.#status.textContent = 'polling every 2 s';
    this.#status.className = 'live polling';
    this.#poll ??= window.setInterval(() => this.#handler?.(undefined), POLL_MS);
  }

  #stopPolling(): void {
    this.#status.textContent = 'live';
    this.#status.className = 'live on';
    if (this.#poll !== undefined) window.clearInterval(this.#poll);
    this.#poll = undefined;
  }
}
