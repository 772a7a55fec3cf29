/**
 * Call `beat` every `everyMs` while a job runs, each one after the previous has finished (a
 * slow filesystem never stacks heartbeats up). `beat` must not throw. (Without heartbeats,
 * `beat` is the lease check: running-job.ts.) stop() waits for a
 * heartbeat in flight. Why: the submit that follows is a fenced move of the same file; letting
 * a heartbeat's move finish first saves the submit a wait through it.
 */
export function startHeartbeats(everyMs: number, beat: () => Promise<void>): { stop(): Promise<void> } {
  let stopped = false;
  let inFlight: Promise<void> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const schedule = (): void => {
    timer = setTimeout(() => {
      inFlight = beat().finally(() => {
        inFlight = undefined;
        if (!stopped) schedule();
      });
    }, everyMs);
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await inFlight;
    },
  };
}
