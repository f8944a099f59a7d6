import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Real tools (rpm, dpkg, PostgreSQL) are slow to spawn on 2 cores; keep workers modest.
    maxWorkers: 2,
    // A hang guard, not a budget: tests wait on events (journal rows, lease changes, process
    // exits; test/events.ts), and real tools on a shared 2-core machine with other work beside it
    // take several times their quiet time. A test that is wrong fails on its assertions, not here.
    testTimeout: 600_000,
    hookTimeout: 600_000,
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
