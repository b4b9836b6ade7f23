import { defineConfig } from 'vitest/config';

// Generous timeouts: these guard against hangs, not speed.
// Nx runs several packages' tests at once, so a few-second test can take far longer.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
