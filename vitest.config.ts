import { defineConfig } from 'vitest/config';

/**
 * Every test file talks to the real Redis on 127.0.0.1:6379 (or REDIS_URL) under a key prefix of
 * its own, so files may run in parallel. Process-heavy files spawn children; two workers suit a
 * 2-core machine.
 */
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    env: { NO_COLOR: '1' },
  },
});
