import { configDefaults, defineConfig } from 'vitest/config';
import { hangGuard } from './test/helpers/machine-pace.js';

/**
 * Two projects, chosen by file name so a new test lands in the right one:
 * - unit: `*.test.ts` that spawn no daemon and no long-lived process (short `git` or `node -e`
 *   children are fine); they import src/ only, so `npm run test:unit` needs no build.
 * - system: `*.system.test.ts`, which spawn processes (daemons, bin/tq.js, race workers, strace
 *   crash runs, the torture short form, the demo) and need dist/ (`npm test` builds it first).
 * - multihost: `*.multihost.test.ts`, one run shared by two client mounts of a network filesystem
 *   (sshfs, GlusterFS) that they set up and tear down (test/helpers/multihost/); skipped, saying
 *   why, where they cannot. Last, so their mounts and daemons do not compete with the system tests.
 * Timeouts are hang guards only: waits inside tests are paced deadlines (test/helpers/wait-for.ts)
 * that fail first, saying what they waited for.
 */
export default defineConfig({
  test: {
    // Why: race and crash tests spawn real processes; forks isolate them best.
    pool: 'forks',
    // Why 2: the test machines have 2 cores.
    maxWorkers: 2,
    fileParallelism: true,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/**/*.system.test.ts', 'test/**/*.multihost.test.ts'],
          testTimeout: hangGuard(12_000),
          hookTimeout: hangGuard(6_000),
          // Why first: the quick failures come before the minutes of system tests.
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'system',
          include: ['test/**/*.system.test.ts'],
          testTimeout: hangGuard(120_000),
          // Why this long: a beforeAll may build dist/ (tsc and the bundle) or wait for a parallel build.
          hookTimeout: hangGuard(60_000),
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: 'multihost',
          include: ['test/**/*.multihost.test.ts'],
          testTimeout: hangGuard(90_000),
          hookTimeout: hangGuard(60_000),
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
