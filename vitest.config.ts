import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Why: race and crash tests spawn real processes; forks isolate them best.
    pool: 'forks',
    testTimeout: 180_000,
    hookTimeout: 60_000,
    // Why: the machines have 2 cores; multi-process tests are more honest without neighbours.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
