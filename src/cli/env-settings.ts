import type { Durability } from '../core/store/run-context.js';

/**
 * The settings tq takes from environment variables. Why here, in the CLI: core never reads the
 * environment; the CLI (and a library user who wants the same behaviour) passes the values in.
 */
export type Env = Readonly<Record<string, string | undefined>>;

/** The runs root when neither --root nor TQ_ROOT says otherwise. */
export const DEFAULT_ROOT = 'runs';

/** TQ_ROOT, when set and not blank. */
export function rootFromEnv(env: Env): string | undefined {
  const v = env.TQ_ROOT;
  return v !== undefined && v.trim() !== '' ? v : undefined;
}

/** The runs root: TQ_ROOT of `env` when set and not blank, else `runs`. Pass `process.env` for tq's own default. */
export function defaultRoot(env: Env = {}): string {
  return rootFromEnv(env) ?? DEFAULT_ROOT;
}

/** TQ_DURABILITY=full|none overrides a run's own durability setting (e.g. none for throwaway runs). */
export function durabilityFromEnv(env: Env): Durability | undefined {
  const v = env.TQ_DURABILITY?.trim();
  return v === 'none' || v === 'full' ? v : undefined;
}
