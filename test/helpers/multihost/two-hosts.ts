/**
 * One shared filesystem seen through two client mounts on this machine: each mount plays one
 * host. Set up by sshfs-hosts.ts or gluster-hosts.ts; torn down by tearDown (idempotent).
 */
export interface TwoHosts {
  kind: 'sshfs' | 'glusterfs';
  /** Mount point of host A's client. */
  a: string;
  /** Mount point of host B's client (the same files). */
  b: string;
  /** What was set up, for the test log. */
  what: string;
  setUpMs: number;
  tearDown(): Promise<void>;
}

/** Either two hosts, or why they could not be set up (the tests are then skipped, saying so). */
export type HostsOrSkip = { hosts: TwoHosts; skip?: undefined } | { hosts?: undefined; skip: string };

/**
 * Undo steps registered as the set-up goes; run in reverse on tear-down or when a later step
 * fails. Why best-effort: one failed step (a busy mount) must not leave the daemons running.
 */
export class UndoStack {
  private readonly steps: { what: string; run: () => Promise<unknown> }[] = [];

  push(what: string, run: () => Promise<unknown>): void {
    this.steps.push({ what, run });
  }

  async runAll(): Promise<void> {
    const errors: string[] = [];
    for (let step = this.steps.pop(); step !== undefined; step = this.steps.pop()) {
      try {
        await step.run();
      } catch (err) {
        errors.push(`${step.what}: ${(err as Error).message}`);
      }
    }
    if (errors.length > 0) throw new Error(`multihost tear-down: ${errors.join('; ')}`);
  }
}

/** Run `setUp` with an undo stack; on failure undo what was done and return why, as a skip. */
export async function setUpOrSkip(kind: TwoHosts['kind'], setUp: (undo: UndoStack) => Promise<Omit<TwoHosts, 'tearDown' | 'setUpMs'>>): Promise<HostsOrSkip> {
  const undo = new UndoStack();
  const t0 = performance.now();
  try {
    const made = await setUp(undo);
    return { hosts: { ...made, setUpMs: Math.round(performance.now() - t0), tearDown: () => undo.runAll() } };
  } catch (err) {
    await undo.runAll().catch((e: Error) => console.log(e.message));
    return { skip: `${kind} could not be set up: ${(err as Error).message}` };
  }
}
